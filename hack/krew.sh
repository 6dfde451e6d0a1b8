#!/usr/bin/env bash
# Builds krew and validate-krew-manifest at the version pinned in
# hack/tools/krew/go.mod into bin/tools (or $TOOLS_DIR); see hack/tools.sh.
exec "$(dirname "$0")/tools.sh" krew
