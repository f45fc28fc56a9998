#!/usr/bin/env python3
"""A SageMaker control-plane stand-in whose training jobs change state over time, for the
`wait` tests (moto's jobs are Completed at once). Speaks the real protocol (awsJson1_1,
X-Amz-Target: SageMaker.DescribeTrainingJob) on 127.0.0.1.

The job name chooses the story; each DescribeTrainingJob of a job advances it one step:
  progress-*  InProgress/Starting -> InProgress/Downloading -> InProgress/Training
              -> Completed/Completed (TrainingTimeInSeconds 4000, BillableTimeInSeconds 1200,
              ModelArtifacts = $ARTIFACTS, i.e. argv[1])
  fail-*      InProgress/Training -> Failed/Failed with a FailureReason
  stuck-*     InProgress/Training forever
GET /calls/<job> returns the monotonic times (seconds) of that job's DescribeTrainingJob calls.

With `--proxy MOTO_URL` it stands in front of moto instead: every call is forwarded, and a
job moto calls Completed reads InProgress/Training until its model.tar.gz exists in moto's
S3, as a real job stays in progress until its training container has written it (the test
plays the container).

Usage: python job_states.py ARTIFACTS_S3_URI | --proxy MOTO_URL
       -> prints the port; exits when stdin closes.
"""
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROXY = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--proxy" else None
S3 = None
if PROXY:
    import boto3
    import botocore.config
    import botocore.exceptions

    S3 = boto3.client("s3", endpoint_url=PROXY, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing",
                      config=botocore.config.Config(s3={"addressing_style": "path"}))
ARTIFACTS = sys.argv[1] if len(sys.argv) > 1 and not PROXY else "s3://bucket/none/model.tar.gz"
CALLS = {}
LOCK = threading.Lock()

PROGRESS = [("InProgress", "Starting", "Launching requested ML instances"),
            ("InProgress", "Downloading", "Downloading input data"),
            ("InProgress", "Training", "Training image download completed. Training in progress."),
            ("Completed", "Completed", "Training job completed")]


def story(name, step):
    if name.startswith("progress-"):
        return PROGRESS[: min(step, len(PROGRESS))]
    if name.startswith("fail-"):
        steps = [("InProgress", "Training", "Training in progress."),
                 ("Failed", "Failed", "Training job failed")]
        return steps[: min(step, len(steps))]
    if name.startswith("stuck-"):
        return [("InProgress", "Training", "Training in progress.")]
    return None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        job = self.path.rsplit("/", 1)[-1]
        with LOCK:
            self.reply(200, CALLS.get(job, []))

    def proxy(self, raw):
        """Forwards the call to moto; holds a Completed job in progress until its artifacts exist."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(PROXY + self.path, data=raw, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request) as answer:
                code, data = answer.status, answer.read()
        except urllib.error.HTTPError as refused:
            code, data = refused.code, refused.read()
        if code == 200 and self.headers.get("X-Amz-Target") == "SageMaker.DescribeTrainingJob":
            job = json.loads(data)
            artifacts = job.get("ModelArtifacts", {}).get("S3ModelArtifacts", "")
            if job.get("TrainingJobStatus") == "Completed" and not self.exists(artifacts):
                job["TrainingJobStatus"], job["SecondaryStatus"] = "InProgress", "Training"
                job.pop("TrainingEndTime", None)
            data = json.dumps(job).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def exists(s3_uri):
        """Whether moto's S3 holds s3://bucket/key (a signed HeadObject: moto refuses anonymous calls)."""
        if not s3_uri.startswith("s3://"):
            return False
        bucket, _, key = s3_uri[5:].partition("/")
        try:
            S3.head_object(Bucket=bucket, Key=key)
            return True
        except botocore.exceptions.ClientError:
            return False

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if PROXY:
            return self.proxy(raw)
        body = json.loads(raw or b"{}")
        target = self.headers.get("X-Amz-Target", "")
        if target != "SageMaker.DescribeTrainingJob":
            return self.reply(400, {"__type": "UnknownOperationException", "message": target})
        name = body.get("TrainingJobName", "")
        with LOCK:
            CALLS.setdefault(name, []).append(time.monotonic())
            step = len(CALLS[name])
        steps = story(name, step)
        if steps is None:
            return self.reply(400, {"__type": "ValidationException",
                                    "message": f"Could not find training job '{name}'."})
        status, secondary, _ = steps[-1]
        now = time.time()
        job = {
            "TrainingJobName": name,
            "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
            "TrainingJobStatus": status,
            "SecondaryStatus": secondary,
            "SecondaryStatusTransitions": [
                {"Status": s, "StartTime": now, "StatusMessage": m} for (_, s, m) in steps],
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 14400, "MaxWaitTimeInSeconds": 18000},
            "CreationTime": now,
            "EnableManagedSpotTraining": True,
        }
        if status == "Completed":
            job.update({"ModelArtifacts": {"S3ModelArtifacts": ARTIFACTS},
                        "TrainingTimeInSeconds": 4000, "BillableTimeInSeconds": 1200})
        if status == "Failed":
            job["FailureReason"] = "AlgorithmError: train.py: error: no data.yaml in data channel /opt/ml/input/data/training"
        self.reply(200, job)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
