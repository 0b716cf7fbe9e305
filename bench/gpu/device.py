#!/usr/bin/env python3
"""The GPU's limits, from its name (torch.cuda.get_device_name), for bench/gpu/run.sh's tables.

HBM bandwidth (bytes/s) bounds decode throughput; bf16 dense peak (TFLOP/s) bounds training MFU.
Datasheet figures of the SXM parts the device tool lends (H100 80GB HBM3, H200) and their PCIe/
NVL siblings. An unknown name has no default: the tables say it is unknown unless the
environment gives HBM_BYTES_PER_S / PEAK_TFLOPS, which also override a known name.

As a script: prints one JSON row {"impl": "device", "name", ...} (no GPU: "cuda": false).
"""
import json
import os
import sys

# (substring of the name, HBM bytes/s, bf16 dense TFLOP/s), the first match wins.
KNOWN = [
    ("H100 PCIe", 2.0e12, 756.0),
    ("H100 NVL", 3.9e12, 835.0),
    ("H100", 3.35e12, 989.0),  # H100 SXM5 80GB HBM3 ("NVIDIA H100 80GB HBM3")
    ("H200", 4.8e12, 989.0),  # H200 SXM and NVL: 4.8 TB/s HBM3e
]


def limits(name):
    """(bytes/s or None, TFLOP/s or None, where they came from) for a device name."""
    bandwidth = peak = None
    source = f"unknown device {name!r}" if name else "no GPU name"
    for pattern, known_bandwidth, known_peak in KNOWN:
        if name and pattern in name:
            bandwidth, peak, source = known_bandwidth, known_peak, f"datasheet of {pattern}"
            break
    overrides = []
    if os.environ.get("HBM_BYTES_PER_S"):
        bandwidth = float(os.environ["HBM_BYTES_PER_S"])
        overrides.append("HBM_BYTES_PER_S")
    if os.environ.get("PEAK_TFLOPS"):
        peak = float(os.environ["PEAK_TFLOPS"])
        overrides.append("PEAK_TFLOPS")
    if overrides:
        source += " (" + ", ".join(overrides) + " from the environment)"
    elif bandwidth is None:
        source += ": set HBM_BYTES_PER_S and PEAK_TFLOPS"
    return bandwidth, peak, source


def main():
    import torch

    row = {"impl": "device", "torch": torch.__version__, "cuda": torch.cuda.is_available()}
    if row["cuda"]:
        properties = torch.cuda.get_device_properties(0)
        row.update(name=torch.cuda.get_device_name(0), memory_bytes=properties.total_memory,
                   multiprocessors=properties.multi_processor_count,
                   capability=f"{properties.major}.{properties.minor}")
    bandwidth, peak, source = limits(row.get("name"))
    row.update(hbm_bytes_per_s=bandwidth, peak_tflops=peak, limits_source=source)
    print(json.dumps(row), flush=True)
    if not row["cuda"]:
        print("device.py: torch sees no CUDA device", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
