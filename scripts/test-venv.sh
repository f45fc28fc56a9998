# Sourced by scripts/test.sh and scripts/test-training.sh: makes the Python test venv (.venv)
# from tools/requirements-test.txt unless its stamp says it is current, then exports
# OMNI_TEST_PYTHON. (The tests find .venv/bin/python without it too; a missing venv fails
# them unless OMNI_SKIP_PYTHON_TESTS=1 says to skip: docs/testing.md.)
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  log "installing python3-venv"
  apt-get update -qq && apt-get install -y -qq python3-venv python3-pip >/dev/null
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum tools/requirements-test.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "creating .venv from tools/requirements-test.txt"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-test.txt
  echo "$want" > "$stamp"
fi
export OMNI_TEST_PYTHON="$PWD/.venv/bin/python"
