#!/usr/bin/env bash
# Builds goreleaser at the version pinned in hack/tools/goreleaser/go.mod
# into bin/tools/goreleaser (or $GORELEASER_DIR); see hack/tools.sh.
exec "$(dirname "$0")/tools.sh" goreleaser
