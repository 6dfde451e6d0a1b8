package bootstrap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/atomicfile"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// ttlHelp says what --ttl accepts and what 0 means for a bootstrap token
// (kubeadm's rule: no expiration).
const ttlHelp = "The duration before the token expires: e.g. 30m, 24h, 7d or 1d12h. 0 or never: the token never expires (kubeadm's rule)."

// noName takes -o name off a command whose output is not an object with
// a name (or would lose the token's secret), so it is neither offered in
// help and completion nor accepted.
func noName(p *printer.Flags) *printer.Flags {
	p.PrintFlags.NamePrintFlags = nil
	return p
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
		return "", fmt.Errorf("cannot read the token from standard input: %w", err)
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
