"""botocore's own bedrock-runtime client against the Converse stand-in: each call's parsed
answer, or the error botocore read, as one JSON line (the stand-in must answer as AWS does).

Input (stdin, JSON): {"url", "access_key", "secret_key", "region", "model_id", "calls"}
"""

import json
import sys

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError


def main() -> None:
    spec = json.load(sys.stdin)
    session = botocore.session.get_session()
    client = session.create_client(
        "bedrock-runtime",
        endpoint_url=spec["url"],
        region_name=spec["region"],
        aws_access_key_id=spec["access_key"],
        aws_secret_access_key=spec["secret_key"],
        config=Config(retries={"total_max_attempts": 1}),
    )
    tool = {
        "toolSpec": {
            "name": "write_eir",
            "description": "EIR narrative and severities.",
            "inputSchema": {"json": {"type": "object", "properties": {"narrative_en": {"type": "string"}}}},
        }
    }
    for _ in range(spec["calls"]):
        try:
            r = client.converse(
                modelId=spec["model_id"],
                system=[{"text": "Write the EIR."}],
                messages=[{"role": "user", "content": [
                    {"text": "{\"damages\": []}"},
                    {"image": {"format": "jpeg", "source": {"bytes": b"\xff\xd8\xff\xd9"}}},
                ]}],
                inferenceConfig={"maxTokens": 64, "temperature": 0.0},
                toolConfig={"tools": [tool], "toolChoice": {"tool": {"name": "write_eir"}}},
            )
            content = r["output"]["message"]["content"]
            print(json.dumps({
                "ok": True,
                "status": r["ResponseMetadata"]["HTTPStatusCode"],
                "stopReason": r["stopReason"],
                "usage": r["usage"],
                "toolUse": next((c["toolUse"] for c in content if "toolUse" in c), None),
                "text": next((c["text"] for c in content if "text" in c), None),
            }))
        except ClientError as e:
            print(json.dumps({
                "ok": False,
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                "code": e.response["Error"]["Code"],
                "message": e.response["Error"]["Message"],
            }))


if __name__ == "__main__":
    main()
