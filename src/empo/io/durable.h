#pragma once
// Durable file-system steps for outputs that must survive a crash or a power cut: fsync with
// its result checked, and folders published whole (staged in a sibling, every file and the
// folder fsynced, renamed into place, the parent fsynced). A reader therefore sees either the
// old folder or the complete new one, never a mix.
#include <string>

namespace empo::io {

// fsync of a file or a folder; InputError naming the path when it fails (EIO, ENOSPC, ...).
void fsync_path(const std::string& path);

// Creates `folder` when missing and checks that files can be created in it; InputError naming
// the folder otherwise (read-only, no permission, a file in the way).
void require_writable_folder(const std::string& folder);

// fsync of every regular file below `folder`, then of each folder, bottom-up.
void fsync_tree(const std::string& folder);

// A fresh, empty staging folder beside `folder` (same file system, so rename is atomic).
std::string staging_sibling(const std::string& folder);

// Suffix of the old copy while `publish_folder` swaps a folder that already exists:
// "<folder><kAsideSuffix>" holds the complete old folder during the swap.
inline constexpr char kAsideSuffix[] = ".replaced";

// Makes the complete `staging` folder appear as `folder`. An existing `folder` is first renamed
// to "<folder>.replaced" and removed only once the new one is in place, so a crash at any
// moment leaves a complete copy under one of the two names (recover_replaced puts it back).
void publish_folder(const std::string& staging, const std::string& folder);

// After a crash during publish_folder: when `folder` is missing but "<folder>.replaced" exists,
// renames it back; a leftover "<folder>.replaced" beside a present `folder` is removed.
void recover_replaced(const std::string& folder);

}  // namespace empo::io
