"""Prints every scalar of a TensorBoard log folder as JSON, read by TensorBoard's own
EventAccumulator: {"tag": [[step, value], ...]}. Exits 77 when tensorboard cannot be
imported, so the calling test can skip."""
import json
import sys

try:
    from tensorboard.backend.event_processing import event_accumulator
except ImportError as error:
    print(f"tensorboard is not importable: {error}", file=sys.stderr)
    sys.exit(77)

accumulator = event_accumulator.EventAccumulator(
    sys.argv[1], size_guidance={event_accumulator.SCALARS: 0}  # 0: keep every event
)
accumulator.Reload()
scalars = {
    tag: [[event.step, event.value] for event in accumulator.Scalars(tag)]
    for tag in accumulator.Tags()["scalars"]
}
print(json.dumps(scalars))
