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

Usage: python job_states.py ARTIFACTS_S3_URI  -> prints the port; exits when stdin closes.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARTIFACTS = sys.argv[1] if len(sys.argv) > 1 else "s3://bucket/none/model.tar.gz"
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

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
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
