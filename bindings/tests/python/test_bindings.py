"""The generated Python bindings of omni-ffi, end to end against real servers on 127.0.0.1.

Run by bindings/tests/run.sh, which builds the library, generates the bindings and sets:
OMNI_PY_BINDINGS (the generated module's directory), OMNI_FFI_LIB_DIR, OMNI_BINDING_FIXTURES
(the binary serving the SageMaker-compatible endpoint and a signed model manifest) and
OMNI_BUNDLED_MODEL (the app's model file).
"""

import asyncio
import io
import json
import os
import random
import subprocess
import sys
import threading
import time

import pytest
from PIL import Image

sys.path.insert(0, os.environ["OMNI_PY_BINDINGS"])
import omni_ffi as omni  # noqa: E402
# The core's and the protocol's own types are generated as modules of their own.
import omni_core  # noqa: E402
import omni_protocol  # noqa: E402

BUNDLED_MODEL = os.environ["OMNI_BUNDLED_MODEL"]
CONTAINER = "CSQU3054383"

# Foreign async callbacks (the credentials provider) and the core's futures run on one
# event loop in a thread of its own, as an app's would.
LOOP = asyncio.new_event_loop()
threading.Thread(target=LOOP.run_forever, daemon=True).start()
omni.uniffi_set_event_loop(LOOP)


def run(coro, timeout=60):
    return asyncio.run_coroutine_threadsafe(coro, LOOP).result(timeout)


def jpeg(seed, size=(320, 240)):
    rng = random.Random(seed)
    img = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    for _ in range(20):
        x, y = rng.randrange(size[0] - 20), rng.randrange(size[1] - 20)
        img.paste((rng.randrange(256), rng.randrange(256), rng.randrange(256)), (x, y, x + 20, y + 20))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85)
    return out.getvalue()


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def servers():
    proc = subprocess.Popen(
        [os.environ["OMNI_BINDING_FIXTURES"]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    info = json.loads(proc.stdout.readline())
    yield info
    proc.stdin.close()
    proc.wait(timeout=20)


class Credentials(omni.CredentialsProvider):
    def __init__(self, key, secret, token=None):
        self.key, self.secret, self.token, self.calls = key, secret, token, 0

    async def credentials(self):
        self.calls += 1
        await asyncio.sleep(0)  # a real provider awaits Cognito here
        return omni.AwsCredentials(
            access_key_id=self.key, secret_access_key=self.secret, session_token=self.token, expires_at_ms=None
        )


class Recorder:
    def __init__(self):
        self.events, self.lock = [], threading.Lock()

    def on_event(self, event):
        with self.lock:
            self.events.append(event)

    def of(self, kind):
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)]


class SyncEvents(Recorder, omni.SyncListener):
    pass


class ModelEvents(Recorder, omni.ModelListener):
    pass


def open_core(tmp_path, servers, secret=None, refresh=False, sync=None):
    cloud = omni.CloudTarget(
        endpoint_url=servers["endpoint_url"], endpoint_name=servers["endpoint_name"], region=servers["region"]
    )
    model_refresh = None
    if refresh:
        model_refresh = omni.ModelRefreshSettings(
            manifest_url=servers["manifest_url"],
            region=servers["region"],
            s3_endpoint=None,
            trusted_keys=[servers["public_key"]],
            allow_metered=False,
        )
    config = omni.CoreConfig(
        data_dir=str(tmp_path / "data"),
        bundled_model_path=BUNDLED_MODEL,
        threads=1,
        cloud=cloud,
        sync=sync,
        model_refresh=model_refresh,
    )
    provider = Credentials(servers["access_key_id"], secret or servers["secret_access_key"])
    return omni.OmniCore.open(config, provider), provider


def new_inspection(core, container=CONTAINER):
    return core.create_inspection(
        omni.NewInspection(
            container_number=container,
            inspector_id="inspector-7",
            notes=None,
            location=omni_core.GeoLocation(latitude=36.13, longitude=-5.35, accuracy_m=8.0),
        )
    )


def test_capture_edge_and_cloud_verdicts(tmp_path, servers):
    core, provider = open_core(tmp_path, servers)
    inspection = new_inspection(core)
    assert inspection.container_number == CONTAINER
    assert inspection.location.latitude == pytest.approx(36.13)
    photos = [core.add_photo(inspection.id, jpeg(i), 1_700_000_000_000 + i) for i in range(3)]
    assert [p.state for p in photos] == [omni_core.PhotoState.QUEUED] * 3
    assert photos[0].captured_at_ms == 1_700_000_000_000

    edge = core.edge_verdict(photos[0].id)
    assert edge.detections.source == omni_protocol.DetectionSource.EDGE
    assert edge.photo_id == photos[0].id
    assert (edge.detections.image_width, edge.detections.image_height) == (320, 240)

    verdict = run(core.verdict(photos[1].id))
    assert verdict.result.detections.source == omni_protocol.DetectionSource.CLOUD
    assert verdict.cloud_pending is False
    assert provider.calls >= 1

    report = run(core.sync_now())
    assert report.stopped == omni_core.StopReason.IDLE()
    assert report.synced == 2  # photo 1 was synced by its verdict
    stats = core.stats()
    assert (stats.inspections, stats.queued, stats.synced, stats.failed) == (1, 0, 3, 0)

    detail = core.inspection(inspection.id)
    assert [p.current for p in detail.photos] == [omni_protocol.DetectionSource.CLOUD] * 3
    assert [(p.office_at_ms, p.verdicts_on_office) for p in detail.photos] == [(None, 0)] * 3
    assert (detail.office.revision, detail.office.acknowledged_revision) == (1, None)
    sources = {r.detections.source for r in detail.photos[0].results}
    assert sources == {omni_protocol.DetectionSource.EDGE, omni_protocol.DetectionSource.CLOUD}
    listed = core.list_inspections(omni.InspectionQuery(state=None, container_number=CONTAINER, limit=10, offset=0))
    assert [(s.inspection.id, s.photos.synced) for s in listed] == [(inspection.id, 3)]
    assert core.integrity_check() == ["ok"]


def test_background_sync_follows_connectivity(tmp_path, servers):
    core, _ = open_core(tmp_path, servers)
    events = SyncEvents()
    core.set_sync_listener(events)
    core.set_online(False)
    inspection = new_inspection(core)
    ids = [core.add_photo(inspection.id, jpeg(10 + i), None).id for i in range(4)]
    task = core.start_sync()
    time.sleep(0.5)
    assert core.stats().queued == 4, "nothing is sent while offline"
    core.set_online(True)
    wait_for(lambda: core.stats().synced == 4, what="4 photos synced")
    # The engine stores a photo's answer, then tells the listener: the last event may still
    # be on its way when the store already counts the photo.
    synced = lambda: {e.photo_id for e in events.of(omni.SyncEvent.PHOTO_SYNCED)}  # noqa: E731
    wait_for(lambda: synced() == set(ids), what=f"a synced event for each of {ids}")
    # A photo taken while the task runs is sent without another call.
    late = core.add_photo(inspection.id, jpeg(99), None)
    wait_for(lambda: core.photo(late.id).photo.state == omni_core.PhotoState.SYNCED, what="late photo synced")
    task.cancel()
    assert task.is_finished()


def test_bad_input_is_refused_and_nothing_is_stored(tmp_path, servers):
    core, _ = open_core(tmp_path, servers)
    with pytest.raises(omni.OmniError.InvalidInput) as bad_number:
        new_inspection(core, "CSQU3054384")  # wrong check digit
    assert bad_number.value.code == "invalid_container_number"
    assert "check digit" in bad_number.value.reason
    inspection = new_inspection(core)
    with pytest.raises(omni.OmniError.InvalidInput) as not_image:
        core.add_photo(inspection.id, b"%PDF-1.7 not a photo", None)
    assert not_image.value.code == "photo_unsupported_format"
    with pytest.raises(omni.OmniError.NotFound) as missing:
        core.add_photo_file(inspection.id, str(tmp_path / "nope.jpg"), None)
    assert missing.value.code == "file_not_found"
    with pytest.raises(omni.OmniError.InvalidInput) as bad_id:
        core.inspection("not-a-uuid")
    assert bad_id.value.code == "invalid_id"
    for letter in ["Q", "f", "FD", ""]:
        with pytest.raises(omni.OmniError.InvalidInput) as bad_face:
            core.add_photo(inspection.id, jpeg(70), None, face=letter)
        assert bad_face.value.code == "unknown_face"
        assert "expected one of F, D, L, R, T, U, I, X" in bad_face.value.reason
    with pytest.raises(omni.OmniError.InvalidInput) as bad_kind:
        core.create_inspection(
            omni.NewInspection(
                container_number=CONTAINER, inspector_id=None, notes=None, location=None, kind="gate-sideways"
            )
        )
    assert bad_kind.value.code == "unknown_inspection_kind"
    stats = core.stats()
    assert (stats.inspections, stats.queued) == (1, 0)
    with pytest.raises(omni.OmniError.Busy) as busy:
        open_core(tmp_path, servers)
    assert busy.value.code == "data_dir_locked"


def test_wrong_secret_pauses_sync_with_a_credentials_event(tmp_path, servers):
    core, _ = open_core(tmp_path, servers, secret="not-the-secret")
    events = SyncEvents()
    core.set_sync_listener(events)
    inspection = new_inspection(core)
    core.add_photo(inspection.id, jpeg(5), None)
    task = core.start_sync()
    wait_for(
        lambda: any(e.cause == omni_core.PauseCause.CREDENTIALS for e in events.of(omni.SyncEvent.PAUSED)),
        what="a credentials pause",
    )
    task.cancel()
    assert task.is_finished()
    stats = core.stats()
    assert (stats.queued, stats.synced, stats.failed) == (1, 0, 0), "the photo stays queued"


def test_cancelling_sync_now_keeps_photos_queued(tmp_path, servers):
    # Refused credentials keep sync_now pausing and retrying, so it is still running when
    # cancelled.
    core, _ = open_core(tmp_path, servers, secret="not-the-secret")
    inspection = new_inspection(core)
    core.add_photo(inspection.id, jpeg(6), None)
    future = asyncio.run_coroutine_threadsafe(core.sync_now(), LOOP)
    time.sleep(0.5)
    assert not future.done(), "sync_now keeps trying while credentials are refused"
    future.cancel()
    wait_for(future.done, what="the cancelled call to end")
    assert core.stats().queued == 1


def test_model_update_swaps_the_detector_and_rollback_restores_it(tmp_path, servers):
    core, _ = open_core(tmp_path, servers, refresh=True)
    events = ModelEvents()
    core.set_model_listener(events)
    status = core.model_status()
    assert status.in_use == omni_core.ModelSlot.BUNDLED
    bundled_version = status.version

    check = run(core.check_model_update())
    assert check == omni.ModelCheck.AVAILABLE(name=check.name, version="0.2.0", size=check.size)
    # Phones download on Wi-Fi only unless allowed: metered defers.
    core.set_network(omni_core.NetworkKind.METERED)
    deferred = run(core.update_model())
    assert deferred == omni.ModelUpdate.DEFERRED(version="0.2.0", network=omni_core.NetworkKind.METERED)
    core.set_network(omni_core.NetworkKind.UNMETERED)
    installed = run(core.update_model())
    assert isinstance(installed, omni.ModelUpdate.INSTALLED) and installed.version == "0.2.0"
    assert core.model_status().in_use == omni_core.ModelSlot.ACTIVE
    assert [e.version for e in events.of(omni_core.ModelEvent.INSTALLED)] == ["0.2.0"]

    inspection = new_inspection(core)
    photo = core.add_photo(inspection.id, jpeg(7), None)
    assert core.edge_verdict(photo.id).detections.model.version == "0.2.0", "the next inference uses the new model"

    rolled = core.rollback_model()
    assert (rolled.from_version, rolled.to_version) == ("0.2.0", "bundled")
    assert core.model_status().in_use == omni_core.ModelSlot.BUNDLED
    photo2 = core.add_photo(inspection.id, jpeg(8), None)
    assert core.edge_verdict(photo2.id).detections.model.version == bundled_version
    assert len(events.of(omni_core.ModelEvent.ROLLED_BACK)) == 1
    # The model rolled back from is never installed again.
    again = run(core.update_model())
    assert not isinstance(again, omni.ModelUpdate.INSTALLED)


def office_get(servers, path):
    """A GET on the yard office, SigV4-signed by botocore (service execute-api)."""
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    url = servers["office_url"] + path
    request = AWSRequest(method="GET", url=url)
    signer = BotoCredentials(
        servers["office_access_key_id"], servers["office_secret_access_key"], servers["office_session_token"]
    )
    SigV4Auth(signer, "execute-api", servers["region"]).add_auth(request)
    with urllib.request.urlopen(urllib.request.Request(url, headers=dict(request.headers)), timeout=30) as answer:
        return json.loads(answer.read())


def test_an_inspection_closed_offline_reaches_the_office_once_with_its_photos(tmp_path, servers):
    import hashlib

    config = omni.CoreConfig(
        data_dir=str(tmp_path / "data"),
        bundled_model_path=BUNDLED_MODEL,
        threads=1,
        cloud=None,
        office=omni.OfficeTarget(base_url=servers["office_url"], region=servers["region"]),
        sync=None,
        model_refresh=None,
    )
    provider = Credentials(
        servers["office_access_key_id"], servers["office_secret_access_key"], servers["office_session_token"]
    )
    core = omni.OmniCore.open(config, provider)
    inspection = core.create_inspection(
        omni.NewInspection(
            container_number=CONTAINER, inspector_id="inspector-7", notes=None, location=None, kind="gate-out"
        )
    )
    assert inspection.kind == "gate-out"
    photos = {}
    faces = {}
    for i, face in enumerate(["X", "F"]):
        data = jpeg(40 + i)
        photo = core.add_photo(inspection.id, data, None, face=face)
        assert photo.face == face
        photos[photo.id] = hashlib.sha256(data).hexdigest()
        faces[photo.id] = face
        assert core.edge_verdict(photo.id).detections.source == omni_protocol.DetectionSource.EDGE
    # Changed before it is synced: the office gets the new face.
    first = next(iter(faces))
    assert core.set_photo_face(first, "D").face == "D"
    faces[first] = "D"
    closed = core.close_inspection(inspection.id)
    assert closed.inspection.closed_at_ms is not None
    assert closed.faces.required == ["F", "D", "L", "R", "T"]
    assert closed.faces.photographed == ["F", "D"]
    assert closed.faces.missing == ["L", "R", "T"]

    def office_counts():
        """(acknowledged, pending) of inspections, photos and verdicts, then wedged."""
        o = core.stats().office
        return (
            (o.inspections_acknowledged, o.inspections_pending),
            (o.photos_acknowledged, o.photos_pending),
            (o.verdicts_acknowledged, o.verdicts_pending),
            o.wedged,
        )

    assert office_counts() == ((0, 1), (0, 2), (0, 2), 0)

    report = run(core.sync_now())
    assert report.stopped == omni_core.StopReason.IDLE()
    stats = core.stats()
    assert (stats.synced, stats.failed) == (2, 0)
    # The closed revision, both photos, their 2 edge and 2 cloud verdicts: all acknowledged.
    assert office_counts() == ((1, 0), (2, 0), (4, 0), 0)
    detail = core.inspection(inspection.id)
    assert [p.current for p in detail.photos] == [omni_protocol.DetectionSource.CLOUD] * 2
    # The core's own records cross: what the office acknowledged, the faces, the box verdict
    # the sync read from the office's report.
    assert (detail.office.revision, detail.office.acknowledged_revision) == (2, 2)
    assert [(p.office_at_ms is not None, p.verdicts_on_office) for p in detail.photos] == [(True, 2)] * 2
    assert detail.faces == closed.faces
    assert detail.box_verdict is not None
    assert detail.box_verdict == core.box_verdict(inspection.id)

    # The office holds exactly that: the closed inspection, the photos' bytes (SHA-256), an
    # edge and a cloud verdict each.
    office = office_get(servers, f"/v1/inspections/{inspection.id}")
    assert office["inspection"]["state"] == "closed"
    assert office["inspection"]["container_number"] == CONTAINER
    assert {p["photo"]["id"]: p["photo"]["sha256"] for p in office["photos"]} == photos
    assert {p["photo"]["id"]: p["photo"]["face"] for p in office["photos"]} == faces
    assert office["inspection"]["kind"] == "gate-out"
    assert office["faces"]["missing"] == ["L", "R", "T"]
    # Synced: the face no longer changes.
    with pytest.raises(omni.OmniError.InvalidInput) as synced:
        core.set_photo_face(first, "T")
    assert synced.value.code == "photo_already_synced"
    for p in office["photos"]:
        assert p["detect_status"] == "done"
        assert sorted(v["source"] for v in p["verdicts"]) == ["cloud", "edge"]

    # The verdict on the box: read from the office's report once the office had the closed
    # inspection whole, equal to what the office's GET answers.
    verdict = core.box_verdict(inspection.id)
    assert verdict is not None
    eir = office_get(servers, f"/v1/inspections/{inspection.id}/report")
    statuses = {
        "sound": omni_protocol.BoxVerdictStatus.SOUND,
        "repair_needed": omni_protocol.BoxVerdictStatus.REPAIR_NEEDED,
        "not_fit": omni_protocol.BoxVerdictStatus.NOT_FIT,
    }
    assert verdict.status == statuses[eir["verdict"]["status"]]
    assert verdict.eir_number == eir["header"]["eir_number"]
    assert (verdict.reason.en, verdict.reason.es) == (eir["verdict"]["reason"]["en"], eir["verdict"]["reason"]["es"])
    assert verdict.damage_lines == len(eir["lines"])
    assert (verdict.revision, verdict.report_revision) == (2, eir["header"]["revision"])
    with pytest.raises(omni.OmniError.InvalidInput):
        core.box_verdict("not-an-id")

    # Nothing is sent twice.
    again = run(core.sync_now())
    assert (again.stopped, again.synced) == (omni_core.StopReason.IDLE(), 0)
    assert core.box_verdict(inspection.id) == verdict


def test_model_refresh_needs_configuration(tmp_path, servers):
    core, _ = open_core(tmp_path, servers)
    with pytest.raises(omni.OmniError.NotConfigured):
        run(core.update_model())


def test_a_rust_panic_is_an_exception_not_a_crash(tmp_path, servers):
    with pytest.raises(omni.InternalError) as panicked:
        omni.debug_panic("probe panic")
    assert "probe panic" in str(panicked.value)
    core, _ = open_core(tmp_path, servers)
    assert core.stats().inspections == 0, "the library still works after the panic"


class Logs(omni.LogSink):
    def __init__(self):
        self.records, self.lock = [], threading.Lock()

    def log(self, record):
        with self.lock:
            self.records.append(record)

    def lines(self):
        with self.lock:
            return [f"{r.level} {r.target} {r.message}" for r in self.records]


def test_the_app_log_sink_gets_the_core_logs_and_no_secret(tmp_path, servers):
    logs = Logs()
    omni.set_log_sink(logs, omni.LogLevel.TRACE)
    try:
        core, _ = open_core(tmp_path / "good", servers)
        inspection = new_inspection(core)
        ids = [core.add_photo(inspection.id, jpeg(40 + i), None).id for i in range(2)]
        assert run(core.sync_now()).synced == 2
        refused, _ = open_core(tmp_path / "refused", servers, secret="not-the-secret")
        refused.add_photo(new_inspection(refused).id, jpeg(50), None)
        task = refused.start_sync()
        wait_for(lambda: any("sync paused" in line for line in logs.lines()), what="a pause logged")
        task.cancel()
    finally:
        omni.set_log_sink(Logs(), omni.LogLevel.ERROR)
    lines = logs.lines()
    for pid in ids:
        assert any("photo stored" in line and pid in line for line in lines)
        assert any("photo synced" in line and pid in line for line in lines)
    assert any(line.startswith("LogLevel.WARN") and "cause=Credentials" in line for line in lines), lines
    joined = "\n".join(lines)
    for secret in [servers["secret_access_key"], "not-the-secret", "Authorization", "Signature=", "Credential="]:
        assert secret not in joined, secret


def test_bad_configuration_and_oversized_files_are_refused_with_their_codes(tmp_path, servers):
    def config(**changes):
        fields = dict(
            data_dir=str(tmp_path / "data"), bundled_model_path=BUNDLED_MODEL, threads=1,
            cloud=None, sync=None, model_refresh=None,
        )
        fields.update(changes)
        return omni.CoreConfig(**fields)

    cloud = omni.CloudTarget(endpoint_url="ftp://example.com", endpoint_name="e", region="us-east-1")
    provider = Credentials("AKID", "secret")
    with pytest.raises(omni.OmniError.InvalidInput) as bad_url:
        omni.OmniCore.open(config(cloud=cloud), provider)
    assert bad_url.value.code == "invalid_endpoint_url"
    cloud.endpoint_url = servers["endpoint_url"]
    with pytest.raises(omni.OmniError.InvalidInput) as no_provider:
        omni.OmniCore.open(config(cloud=cloud), None)
    assert no_provider.value.code == "credentials_missing"
    refresh = omni.ModelRefreshSettings(
        manifest_url=servers["manifest_url"], region="us-east-1", s3_endpoint=None,
        trusted_keys=["not a key"], allow_metered=False,
    )
    with pytest.raises(omni.OmniError.InvalidInput) as bad_key:
        omni.OmniCore.open(config(model_refresh=refresh), None)
    assert bad_key.value.code == "invalid_public_key"
    not_a_model = tmp_path / "model.onnx"
    not_a_model.write_bytes(b"not an onnx model")
    with pytest.raises(omni.OmniError.ModelRejected) as bad_model:
        omni.OmniCore.open(config(bundled_model_path=str(not_a_model)), None)
    assert bad_model.value.code == "no_model"

    core = omni.OmniCore.open(config(), None)
    inspection = new_inspection(core)
    kept = core.add_photo(inspection.id, jpeg(60), None)
    huge = tmp_path / "huge.jpg"
    with open(huge, "wb") as f:  # a JPEG header and 41 MiB: over the 40 MiB limit
        f.write(jpeg(61))
        f.truncate(41 * 1024 * 1024)
    with pytest.raises(omni.OmniError.InvalidInput) as too_large:
        core.add_photo_file(inspection.id, str(huge), None)
    assert too_large.value.code == "photo_too_large"
    assert core.stats().queued == 1, "nothing stored, nothing lost"
    assert core.photo(kept.id).photo.sha256 == kept.sha256
    with pytest.raises(omni.OmniError.NotConfigured):
        run(core.sync_now())
