"""Cost of one FFI round trip from Python: `open_report()` (no I/O: the bindings' own cost)
and `stats()` (one SQLite read), 20 batches of 1000 calls; prints a markdown table row each.
Run by bindings/benches/ffi.sh."""

import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.environ["OMNI_PY_BINDINGS"])
import omni_ffi as omni  # noqa: E402


def per_call_us(fn, batches=20, calls=1000):
    fn()
    samples = []
    for _ in range(batches):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - t) / calls * 1e6)
    return statistics.median(samples), max(samples)


with tempfile.TemporaryDirectory() as tmp:
    core = omni.OmniCore.open(
        omni.CoreConfig(
            data_dir=tmp, bundled_model_path=os.environ["OMNI_BUNDLED_MODEL"], threads=1,
            cloud=None, sync=None, model_refresh=None,
        ),
        None,
    )
    for name, fn in [("open_report()", core.open_report), ("stats()", core.stats)]:
        median, worst = per_call_us(fn)
        print(f"| Python (ctypes) | {name} | {median:.1f} | {worst:.1f} |")
