#!/usr/bin/env python3
"""Regenerates pytorch.json beside this script: the `training` and `inference` scopes of the
SageMaker Python SDK's PyTorch image table (sagemaker/core/image_uri_config/pytorch.json in
sagemaker-core, sagemaker/image_uri_config/pytorch.json in sagemaker 2.x), verbatim.

    .venv/bin/python trainer/src/images/update.py     # the SDK pinned in tools/requirements-test.txt

omni-trainer reads the vendored copy (trainer/src/images.rs); the test
`images_match_the_sagemaker_sdk` (trainer/tests/integration/sagemaker.rs) compares it with the installed SDK.
"""
from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

SCOPES = ("training", "inference")


def sdk_table() -> tuple[dict, str]:
    """The SDK's pytorch.json and a description of where it came from."""
    try:
        import sagemaker.core as package
        dist = "sagemaker-core"
    except ImportError:
        import sagemaker as package
        dist = "sagemaker"
    path = Path(package.__file__).parent / "image_uri_config" / "pytorch.json"
    rel = path.relative_to(Path(package.__file__).parents[len(package.__name__.split("."))])
    return json.loads(path.read_text()), f"{dist} {importlib.metadata.version(dist)}: {rel}"


def main() -> None:
    table, source = sdk_table()
    vendored = {"source": source, **{scope: table[scope] for scope in SCOPES}}
    out = Path(__file__).with_name("pytorch.json")
    out.write_text(json.dumps(vendored, indent=2, sort_keys=True) + "\n")
    print(f"{out}: {source}")


if __name__ == "__main__":
    main()
