package regtoken

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
)

// resultOutputUsage says what -o does on commands that print a Result.
func resultOutputUsage(cmd *cobra.Command) {
	cmd.Flags().Lookup("output").Usage = "Output format: json or yaml print one result object (token, expiry, values file, helm argv, warnings) and nothing else on stdout; jsonpath and go-template apply to it."
}

// validateResultOutput allows the formats a Result prints with.
func validateResultOutput(pf *printer.Flags) error {
	switch out := pf.Output(); out {
	case "", "json", "yaml":
		return nil
	case "name", "wide":
		return fmt.Errorf("-o %s is not supported here: use -o json or -o yaml", out)
	}
	return pf.Validate()
}

// printNotes writes a Result's notes and warnings to stderr. They quote
// server-supplied text (the controller's apiServerURL, values keys), so
// terminal control sequences are escaped as cli-runtime's printers do.
func printNotes(streams genericiooptions.IOStreams, res *fleet.Result) {
	printMessages(streams, res.Notes, res.Warnings)
}

// printMessages writes notes and warnings to stderr, escaped.
func printMessages(streams genericiooptions.IOStreams, notes, warnings []string) {
	for _, n := range notes {
		fmt.Fprintf(streams.ErrOut, "note: %s\n", printers.EscapeTerminal(n))
	}
	for _, w := range warnings {
		fmt.Fprintf(streams.ErrOut, "warning: %s\n", printers.EscapeTerminal(w))
	}
}

// printRegistration prints a finished registration: with -o, the Result
// object alone on stdout; otherwise the human lines, the helm commands on
// stdout unless stdout carries values.yaml. Notes and warnings always go
// to stderr.
func printRegistration(streams genericiooptions.IOStreams, pf *printer.Flags, res *fleet.Result, headline string) error {
	printNotes(streams, res)
	if pf.Output() != "" {
		return pf.Print(res, printer.WithoutNamespace, streams.Out)
	}
	human := streams.Out
	if res.ValuesFile == "-" {
		if _, err := streams.Out.Write(res.StdoutValues()); err != nil {
			return err
		}
		human = streams.ErrOut
	}
	fmt.Fprintln(human, printers.EscapeTerminal(headline))
	switch res.ValuesFile {
	case "":
	case "-":
		fmt.Fprintln(human, "values.yaml written to stdout: it holds the agent's credentials, keep it secret")
	default:
		fmt.Fprintf(human, "%s written (mode 0600): it holds the agent's credentials, keep it secret\n", res.ValuesFile)
	}
	fmt.Fprintln(human, "Install the Fleet agent with the kubectl context of the downstream cluster:")
	fmt.Fprintln(human)
	fmt.Fprintf(human, "  %s\n", shellquote.Join(res.HelmRepoAdd))
	fmt.Fprintf(human, "  %s\n", shellquote.Join(res.Helm))
	if res.ValuesFile == "-" {
		fmt.Fprintln(human, "\n(the helm command reads values.yaml from stdin: pipe it in)")
	}
	return nil
}

// checkInterrupted reports a signal that came while files were written:
// the writes completed, so say what exists.
func checkInterrupted(ctx context.Context, f cli.Clients, res *fleet.Result) error {
	if ctx.Err() == nil {
		return nil
	}
	what := fmt.Sprintf("interrupted after the values of %s %q in namespace %q were fetched", fleet.Kind, res.Name, res.Namespace)
	if res.ValuesFile != "" && res.ValuesFile != "-" {
		return fmt.Errorf("%s: %s was written completely; install with %s", what, res.ValuesFile, fleet.Hint(f, "helm", res.Name, "-n", res.Namespace))
	}
	return fmt.Errorf("%s: nothing was written; fetch them with %s", what, fleet.Hint(f, "values", res.Name, "-n", res.Namespace))
}

// jsonLines is -o jsonl of the commands that run over many clusters
// (enroll, import): each cluster one JSON object on a line of w once it
// finished, whole lines when clusters finish at once.
type jsonLines struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *jsonLines) print(cluster any) {
	b, err := json.Marshal(cluster)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s\n", b)
}

// printRunEnd prints on stdout what ends a run over many clusters: the
// table, or with -o json|yaml the result object; with -o jsonl each
// cluster was printed as it finished (jsonLines), and nothing more is.
func printRunEnd(pf *printer.Flags, out io.Writer, table func() *metav1.Table, res runtime.Object) error {
	switch pf.Output() {
	case "jsonl":
		return nil
	case "":
		return pf.Print(table(), printer.WithoutNamespace, out)
	}
	return pf.Print(res, printer.WithoutNamespace, out)
}
