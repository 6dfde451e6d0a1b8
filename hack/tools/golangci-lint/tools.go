//go:build tools

// Package tools pins golangci-lint (make lint) and golang.org/x/tools'
// deadcode (make deadcode). They live in their own module so that the
// linters' many dependencies never move the pins of the plugins or of the
// other tools; deadcode shares it and takes the golang.org/x/tools that
// golangci-lint's analysers already select.
package tools

import (
	_ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
	_ "golang.org/x/tools/cmd/deadcode"
)
