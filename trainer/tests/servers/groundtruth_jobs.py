#!/usr/bin/env python3
"""moto (moto_ext.py: S3, the SageMaker control plane, SageMaker Runtime) plus a stand-in of
SageMaker Ground Truth's CreateLabelingJob / DescribeLabelingJob for the trainer's
`labeling start-groundtruth` / `wait-groundtruth` tests: moto implements no labeling jobs.

CreateLabelingJob checks each request the way it would be refused for real:
  * botocore's own ParamValidator over the operation's input shape (what boto3 refuses before
    sending: required members, unknown members, types, minimums);
  * what the service checks on top, from the same service model: each string's pattern and
    maximum length, each number's maximum, each enum;
  * the rules the model's documentation states for a built-in bounding-box job: the label
    attribute does not end with -metadata or -ref, TaskTimeLimitInSeconds <= 28800, the
    pre-annotation and consolidation Lambdas are the PRE-/ACS-BoundingBox ARNs AWS publishes
    for the request's region (read from the documentation in botocore's model), a workteam of
    the request's region; with the public crowd (Amazon Mechanical Turk) a task price from the
    bounding-box price list and a task availability of at most 12 hours (43200 s);
  * a second job of the same name is ResourceInUse.
A refused request is a ValidationException whose message is botocore's report.

Each DescribeLabelingJob of a job moves it one step through its story, chosen by a marker in
its name (the default: every object labelled):
  (default)    Initializing -> InProgress -> InProgress -> Completed
  *-partial*   as the default, but the last object fails (FailedNonRetryableError 1)
  *-badclass*  Completed, the first object's box of a class outside the label categories
  *-fail*      Initializing -> InProgress -> Failed (FailureReason)
  *-stop*      Initializing -> InProgress -> Stopping -> Stopped
At Initializing the job reads what it was given from moto's S3 (the input manifest, every
source-ref, the label categories, the task template) and fails, as Ground Truth does, when
something cannot be read or is not usable. On Completed it writes a real Ground Truth
bounding-box output manifest to <S3OutputPath><job>/manifests/output/output.manifest, one
line per input object: object i gets a box of class i % 6 (left w//10, top h//5, width w//2,
height 2h//5), objects with i % 4 == 2 a second one of class (i + 3) % 6 (left w//2, top h//2,
width w//3, height h//3), objects with i % 4 == 3 none (no damage); w and h are the photo's
own pixel size (Pillow). The tests derive the same labels independently.

Usage: python groundtruth_jobs.py  -> prints the port once listening; exits when stdin closes.
"""
import datetime
import io
import json
import re
import threading

import boto3
from botocore.config import Config
from botocore.session import get_session
from botocore.validate import ParamValidator
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.responses import SageMakerResponse
from PIL import Image

import moto_ext  # noqa: F401  (its UpdateEndpoint / InvokeEndpoint extensions)

try:
    from moto.core.responses import ActionResult
except ImportError:  # pragma: no cover - other moto layouts
    from moto.core.common_types import ActionResult  # type: ignore

MODEL = get_session().get_service_model("sagemaker")
PUBLIC_CROWD = re.compile(r"arn:aws:sagemaker:([a-z0-9-]+):394669845002:workteam/public-crowd/default")
MTURK_MAX_LIFETIME_S = 43200
IMAGE_TASK_MAX_S = 28800
CLASSES_OUTSIDE = "corrosion"

JOBS = {}
LOCK = threading.Lock()
# This server's own URL (from the first request's Host header): the jobs read and write S3
# through it, as Ground Truth reads and writes the customer's bucket.
SELF_URL = None


def s3():
    return boto3.client(
        "s3", endpoint_url=SELF_URL, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}))


def split_s3(uri):
    rest = uri[len("s3://"):] if uri.startswith("s3://") else None
    if rest is None or "/" not in rest:
        raise ValueError(f"{uri!r} is not s3://bucket/key")
    return rest.split("/", 1)


def read_s3(uri):
    bucket, key = split_s3(uri)
    return s3().get_object(Bucket=bucket, Key=key)["Body"].read()


# --- The published tables, read from the documentation in botocore's model -------------------

def published_lambdas(kind):
    """{region: ARN} of the built-in bounding-box task's PRE- or ACS- Lambda."""
    if kind == "PRE":
        doc = MODEL.shape_for("HumanTaskConfig").members["PreHumanTaskLambdaArn"].documentation
    else:
        doc = MODEL.shape_for("AnnotationConsolidationConfig").members[
            "AnnotationConsolidationLambdaArn"].documentation
    arns = re.findall(r"arn:aws:lambda:([a-z0-9-]+):(\d{12}):function:" + kind + r"-BoundingBox\b", doc)
    return {region: f"arn:aws:lambda:{region}:{account}:function:{kind}-BoundingBox"
            for region, account in arns}


def bounding_box_prices():
    """The public crowd's bounding-box task prices (USD, as strings such as "0.120")."""
    doc = MODEL.shape_for("PublicWorkforceTaskPrice").documentation
    section = doc.split("bounding box tasks", 1)[1].split("Use one of the following", 1)[0]
    return set(re.findall(r"\d+\.\d{3}", section))


PRE = published_lambdas("PRE")
ACS = published_lambdas("ACS")
PRICES = bounding_box_prices()


# --- Validation ------------------------------------------------------------------------------

def java_pattern(pattern):
    # Python's re has no \p{…} classes; approximate them (tag keys and values only).
    return pattern.replace(r"\p{L}", r"\w").replace(r"\p{Z}", r"\s").replace(r"\p{N}", r"\d")


def service_checks(value, shape, path, errors):
    """What the service refuses beyond botocore's client-side validation."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                service_checks(value[name], member, f"{path}.{name}" if path else name, errors)
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            errors.append(f"{path}: {len(value)} items, at most {shape.metadata['max']}")
        for i, item in enumerate(value):
            service_checks(item, shape.member, f"{path}[{i}]", errors)
    elif shape.type_name == "string" and isinstance(value, str):
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            errors.append(f"{path}: length {len(value)}, at most {shape.metadata['max']}")
        pattern = shape.metadata.get("pattern")
        if pattern and re.fullmatch(java_pattern(pattern), value) is None:
            errors.append(f"{path}: {value!r} does not match the pattern {pattern}")
        if shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} is not one of {shape.enum}")
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        if "max" in shape.metadata and value > shape.metadata["max"]:
            errors.append(f"{path}: {value}, at most {shape.metadata['max']}")


def bounding_box_rules(params, region, errors):
    """The documented rules of a built-in bounding-box job."""
    attribute = params.get("LabelAttributeName", "")
    if attribute.endswith("-metadata") or attribute.endswith("-ref"):
        errors.append(f"LabelAttributeName {attribute!r} must not end with -metadata or -ref")
    task = params.get("HumanTaskConfig", {})
    if task.get("TaskTimeLimitInSeconds", 0) > IMAGE_TASK_MAX_S:
        errors.append(f"HumanTaskConfig.TaskTimeLimitInSeconds: at most {IMAGE_TASK_MAX_S} for image tasks")
    pre = task.get("PreHumanTaskLambdaArn")
    if pre != PRE.get(region):
        errors.append(f"HumanTaskConfig.PreHumanTaskLambdaArn {pre!r} is not the bounding-box "
                      f"Lambda of {region} ({PRE.get(region)!r})")
    acs = task.get("AnnotationConsolidationConfig", {}).get("AnnotationConsolidationLambdaArn")
    if acs != ACS.get(region):
        errors.append(f"AnnotationConsolidationLambdaArn {acs!r} is not the bounding-box "
                      f"Lambda of {region} ({ACS.get(region)!r})")
    workteam = task.get("WorkteamArn", "")
    parts = workteam.split(":")
    if len(parts) > 3 and parts[3] != region:
        errors.append(f"HumanTaskConfig.WorkteamArn {workteam!r} is not in {region}")
    public = PUBLIC_CROWD.fullmatch(workteam)
    price = task.get("PublicWorkforceTaskPrice")
    if public:
        if price is None:
            errors.append("HumanTaskConfig.PublicWorkforceTaskPrice is required with the public crowd")
        else:
            usd = price.get("AmountInUsd", {})
            text = "%d.%02d%d" % (usd.get("Dollars", 0), usd.get("Cents", 0),
                                  usd.get("TenthFractionsOfACent", 0))
            if text not in PRICES:
                errors.append(f"PublicWorkforceTaskPrice {text} is not a bounding-box price "
                              f"({', '.join(sorted(PRICES))})")
        lifetime = task.get("TaskAvailabilityLifetimeInSeconds")
        if lifetime is not None and lifetime > MTURK_MAX_LIFETIME_S:
            errors.append(f"HumanTaskConfig.TaskAvailabilityLifetimeInSeconds {lifetime}: at most "
                          f"{MTURK_MAX_LIFETIME_S} with the Amazon Mechanical Turk workforce")


def validate(params, region):
    operation = MODEL.operation_model("CreateLabelingJob")
    report = ParamValidator().validate(params, operation.input_shape)
    if report.has_errors():
        raise ValidationError(message=report.generate_report())
    errors = []
    service_checks(params, operation.input_shape, "", errors)
    bounding_box_rules(params, region, errors)
    if errors:
        raise ValidationError(message="; ".join(errors))


# --- Jobs ------------------------------------------------------------------------------------

def story(name):
    if "-fail" in name:
        return ["Initializing", "InProgress", "Failed"]
    if "-stop" in name:
        return ["Initializing", "InProgress", "Stopping", "Stopped"]
    if "-badclass" in name:
        return ["Completed"]
    return ["Initializing", "InProgress", "InProgress", "Completed"]


def read_input(job):
    """Reads what the job was given (as Ground Truth does when it starts); the reason of a
    failure, or None."""
    p = job["params"]
    try:
        categories = json.loads(read_s3(p["LabelCategoryConfigS3Uri"]))
        labels = [entry["label"] for entry in categories["labels"]]
        if categories.get("document-version") != "2018-11-28" or not labels \
                or len(set(labels)) != len(labels):
            return "ClientError: the label category configuration file is not usable"
        job["labels"] = labels
        template = read_s3(p["HumanTaskConfig"]["UiConfig"]["UiTemplateS3Uri"]).decode()
        for needle in ("<crowd-bounding-box", 'name="boundingBox"',
                       "{{ task.input.taskObject | grant_read_access }}",
                       "{{ task.input.labels | to_json | escape }}"):
            if needle not in template:
                return f"ClientError: the task template has no {needle}"
        manifest = read_s3(p["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"])
        objects = []
        for number, line in enumerate(manifest.decode().splitlines(), 1):
            if not line.strip():
                continue
            record = json.loads(line)
            source = record["source-ref"]
            with Image.open(io.BytesIO(read_s3(source))) as image:
                objects.append((record, image.size))
        if not objects:
            return "ClientError: the input manifest lists no data objects"
        job["objects"] = objects
    except Exception as e:  # noqa: BLE001 - any unreadable input fails the job
        return f"ClientError: cannot read the job's input: {e}"
    return None


def boxes(i, width, height):
    out = [(i % 6, width // 10, height // 5, width // 2, (2 * height) // 5)]
    if i % 4 == 2:
        out.append(((i + 3) % 6, width // 2, height // 2, width // 3, height // 3))
    if i % 4 == 3:
        out = []
    return out


def write_output(job):
    p = job["params"]
    attribute = p["LabelAttributeName"]
    name = p["LabelingJobName"]
    partial = "-partial" in name
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    lines = []
    for i, (record, (width, height)) in enumerate(job["objects"]):
        line = dict(record)
        if partial and i == len(job["objects"]) - 1:
            line[f"{attribute}-metadata"] = {
                "failure-reason": "ClientError: the worker's task expired (TaskTimeLimitInSeconds)",
                "human-annotated": "yes", "creation-date": now,
                "job-name": f"labeling-job/{name.lower()}"}
            lines.append(json.dumps(line))
            continue
        annotations, class_map = [], {}
        for class_id, left, top, w, h in boxes(i, width, height):
            annotations.append({"class_id": class_id, "left": left, "top": top, "width": w, "height": h})
            class_map[str(class_id)] = job["labels"][class_id]
        if "-badclass" in name and i == 0:
            outside = len(job["labels"])
            annotations.append({"class_id": outside, "left": 1, "top": 1, "width": 5, "height": 5})
            class_map[str(outside)] = CLASSES_OUTSIDE
        line[attribute] = {"image_size": [{"width": width, "height": height, "depth": 3}],
                           "annotations": annotations}
        line[f"{attribute}-metadata"] = {
            "objects": [{"confidence": 0.87} for _ in annotations],
            "class-map": class_map,
            "type": "groundtruth/object-detection",
            "human-annotated": "yes",
            "creation-date": now,
            "job-name": f"labeling-job/{name.lower()}"}
        lines.append(json.dumps(line))
    uri = output_manifest_uri(job)
    bucket, key = split_s3(uri)
    s3().put_object(Bucket=bucket, Key=key, Body=("\n".join(lines) + "\n").encode())


def output_manifest_uri(job):
    p = job["params"]
    prefix = p["OutputConfig"]["S3OutputPath"]
    if not prefix.endswith("/"):
        prefix += "/"
    return f"{prefix}{p['LabelingJobName']}/manifests/output/output.manifest"


def counters(job, status):
    n = len(job.get("objects", []))
    failed = 1 if "-partial" in job["params"]["LabelingJobName"] and status == "Completed" else 0
    if status in ("Initializing", "Failed") and job["step"] <= 1:
        labeled = 0
    elif status == "Completed":
        labeled = n - failed
    elif job["step"] >= 3:
        labeled = n - 1
    else:
        labeled = n // 2
    return {"TotalLabeled": labeled, "HumanLabeled": labeled, "MachineLabeled": 0,
            "FailedNonRetryableError": failed, "Unlabeled": n - labeled - failed}


def advance(job):
    """One step of the job's story; returns its status now."""
    steps = job["story"]
    job["step"] = min(job["step"] + 1, len(steps))
    status = steps[job["step"] - 1]
    if job.get("failure"):
        return "Failed"
    if job["step"] == 1 or "objects" not in job:
        reason = read_input(job)
        if reason:
            job["failure"] = reason
            return "Failed"
    if status == "Completed" and not job.get("written"):
        write_output(job)
        job["written"] = True
    if status == "Failed":
        job["failure"] = ("ClientError: Access Denied when the job's role read "
                          f"{job['params']['InputConfig']['DataSource']['S3DataSource']['ManifestS3Uri']}")
    return status


def remember_url(response):
    global SELF_URL
    SELF_URL = f"http://{response.headers.get('Host')}"


def create_labeling_job(self):
    remember_url(self)
    params = json.loads(self.body or b"{}")
    validate(params, self.region)
    name = params["LabelingJobName"]
    key = (self.current_account, self.region, name)
    arn = f"arn:aws:sagemaker:{self.region}:{self.current_account}:labeling-job/{name.lower()}"
    with LOCK:
        if key in JOBS:
            raise ResourceInUseException(message=f"Labeling job {arn} already exists.")
        now = datetime.datetime.now(datetime.timezone.utc)
        JOBS[key] = {"params": params, "arn": arn, "created": now, "modified": now,
                     "story": story(name), "step": 0}
    return ActionResult({"LabelingJobArn": arn})


def describe_labeling_job(self):
    remember_url(self)
    name = json.loads(self.body or b"{}").get("LabelingJobName", "")
    with LOCK:
        job = JOBS.get((self.current_account, self.region, name))
        if job is None:
            raise ResourceNotFound(message=f"Could not find labeling job '{name}'.")
        status = advance(job)
        job["modified"] = datetime.datetime.now(datetime.timezone.utc)
        p = job["params"]
        out = {key: p[key] for key in ("LabelingJobName", "LabelAttributeName", "InputConfig",
                                        "OutputConfig", "RoleArn", "HumanTaskConfig") if key in p}
        for key in ("LabelCategoryConfigS3Uri", "StoppingConditions", "Tags"):
            if key in p:
                out[key] = p[key]
        out.update({"LabelingJobStatus": status, "LabelingJobArn": job["arn"],
                    "LabelCounters": counters(job, status), "CreationTime": job["created"],
                    "LastModifiedTime": job["modified"], "JobReferenceCode": job["arn"][-12:]})
        if status == "Failed":
            out["FailureReason"] = job["failure"]
        if status == "Completed":
            out["LabelingJobOutput"] = {"OutputDatasetS3Uri": output_manifest_uri(job)}
    return ActionResult(out)


SageMakerResponse.create_labeling_job = create_labeling_job
SageMakerResponse.describe_labeling_job = describe_labeling_job


if __name__ == "__main__":
    assert PRE and ACS and PRICES, "botocore's model no longer documents the bounding-box tables"
    moto_ext.main()
