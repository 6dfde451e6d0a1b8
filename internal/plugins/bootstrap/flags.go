package bootstrap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubectl-tokens/kubectl-tokens/internal/atomicfile"
)

// ttlValue is --ttl: a Go duration, 0 for a token that never expires.
// Its own type so a typo gets one line that says what is accepted.
type ttlValue struct{ d time.Duration }

func (v *ttlValue) String() string { return v.d.String() }
func (v *ttlValue) Type() string   { return "duration" }
func (v *ttlValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration: use e.g. 30m, 2h, 24h0m0s, or 0 for a token that never expires", s)
	}
	if d < 0 {
		return fmt.Errorf("%q is negative: use a positive duration such as 24h, or 0 for a token that never expires", s)
	}
	v.d = d
	return nil
}

// readTokenArg returns arg, or the first line of stdin when arg is "-":
// a token given on stdin never shows in a process list or shell history.
func readTokenArg(arg string, in io.Reader) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	if in == nil {
		return "", errors.New("the token argument is - but there is no standard input: pipe the token in or pass it as the argument")
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("cannot read the token from standard input: %v", err)
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return "", errors.New("the token argument is - but standard input is empty: pipe the token in or pass it as the argument")
	}
	return line, nil
}

// outputFile is --output-file/--force: the token goes into a file written
// with atomicfile (0600, all or nothing, no clobbering).
type outputFile struct {
	Path  string
	Force bool
}

func (o *outputFile) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.Path, "output-file", "", "Write the output to this file (mode 0600, written atomically) instead of standard output.")
	cmd.Flags().BoolVar(&o.Force, "force", false, "With --output-file, replace an existing file.")
}

// check fails early, before anything is created in the cluster, when the
// file could not be written: an existing file without --force, or a
// directory we cannot create files in.
func (o *outputFile) check() error {
	if o.Path == "" {
		if o.Force {
			return errors.New("--force only applies with --output-file: add --output-file FILE or drop --force")
		}
		return nil
	}
	return atomicfile.CheckWritable(o.Path, o.Force, "--output-file")
}

// write puts data in the file, or on out when no file was given.
func (o *outputFile) write(out io.Writer, data []byte) error {
	if o.Path == "" {
		_, err := out.Write(data)
		return err
	}
	return atomicfile.Write(o.Path, data, o.Force)
}
