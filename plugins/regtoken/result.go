package regtoken

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
)

// resultGVK names the one object create, values and helm print with
// -o json|yaml, so pipelines read it with the usual printers (jsonpath
// included). It is not an API type: nothing on the server has it.
var resultGVK = schema.GroupVersionKind{Group: "regtoken.kubectl-tokens.io", Version: "v1", Kind: "Registration"}

// Result is what a pipeline needs to enroll a cluster. It never holds the
// token value: that stays in the values file.
type Result struct {
	metav1.TypeMeta `json:",inline"`
	Name            string `json:"name"`
	Namespace       string `json:"namespace"`
	// Expires is RFC3339, or empty for a token that never expires.
	Expires    string `json:"expires"`
	SecretName string `json:"secretName"`
	// ValuesFile is where values.yaml went ("-" = stdout, "" = not written).
	ValuesFile      string   `json:"valuesFile"`
	APIServerCAFile string   `json:"apiServerCAFile,omitempty"`
	HelmRepoAdd     []string `json:"helmRepoAdd"`
	Helm            []string `json:"helm"`
	Warnings        []string `json:"warnings"`
	// Notes say what the command filled in or converted.
	Notes []string `json:"notes"`

	// stdoutValues is values.yaml for --values-file -, printed once.
	stdoutValues []byte
	// install is what Helm was built from, for enroll to add a context.
	install HelmInstall
}

func newResult(ns, name string) *Result {
	r := &Result{Name: name, Namespace: ns, Warnings: []string{}, Notes: []string{}, HelmRepoAdd: []string{}, Helm: []string{}}
	r.SetGroupVersionKind(resultGVK)
	return r
}

// DeepCopyObject makes Result a runtime.Object for the printers.
func (r *Result) DeepCopyObject() runtime.Object {
	c := *r
	c.HelmRepoAdd = slices.Clone(r.HelmRepoAdd)
	c.Helm = slices.Clone(r.Helm)
	c.Warnings = slices.Clone(r.Warnings)
	c.Notes = slices.Clone(r.Notes)
	c.stdoutValues = slices.Clone(r.stdoutValues)
	return &c
}

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
func printNotes(streams genericiooptions.IOStreams, res *Result) {
	for _, n := range res.Notes {
		fmt.Fprintf(streams.ErrOut, "note: %s\n", printers.EscapeTerminal(n))
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(streams.ErrOut, "warning: %s\n", printers.EscapeTerminal(w))
	}
}

// printRegistration prints a finished registration: with -o, the Result
// object alone on stdout; otherwise the human lines, the helm commands on
// stdout unless stdout carries values.yaml. Notes and warnings always go
// to stderr.
func printRegistration(streams genericiooptions.IOStreams, pf *printer.Flags, res *Result, headline string) error {
	printNotes(streams, res)
	if pf.Output() != "" {
		return pf.Print(res, printer.WithoutNamespace, streams.Out)
	}
	human := streams.Out
	if res.ValuesFile == "-" {
		if _, err := streams.Out.Write(res.stdoutValues); err != nil {
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
func checkInterrupted(ctx context.Context, f cli.Clients, res *Result) error {
	if ctx.Err() == nil {
		return nil
	}
	what := fmt.Sprintf("interrupted after the values of %s %q in namespace %q were fetched", kind, res.Name, res.Namespace)
	if res.ValuesFile != "" && res.ValuesFile != "-" {
		return fmt.Errorf("%s: %s was written completely; install with %s", what, res.ValuesFile, hint(f, "helm", res.Name, "-n", res.Namespace))
	}
	return fmt.Errorf("%s: nothing was written; fetch them with %s", what, hint(f, "values", res.Name, "-n", res.Namespace))
}
