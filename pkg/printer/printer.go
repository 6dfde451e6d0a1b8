// Package printer binds kubectl's -o flag once for every plugin: the
// cli-runtime printers for json, yaml, name, jsonpath and go-template, and
// the human table (default and wide) for metav1.Table objects, whether the
// server built the table or we did.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package printer

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
)

// Flags is -o (and --show-labels-free table options) for one command.
type Flags struct {
	PrintFlags *genericclioptions.PrintFlags
	NoHeaders  bool

	// Extra formats the command handles itself (e.g. "token", "kubeconfig").
	extra []string
	table bool
}

// Table says whether a command prints the human table ("" and "wide").
type Table bool

const (
	WithTable Table = true  // lists and gets: the default output is a table
	NoTable   Table = false // the command's default output is its own
)

// Namespaces says whether printed tables carry a NAMESPACE column.
type Namespaces bool

const (
	WithNamespace    Namespaces = true  // lists across namespaces (-A)
	WithoutNamespace Namespaces = false // one namespace, or cluster-scoped objects
)

// NewFlags returns -o flags for a command; extra names formats the
// command prints itself.
func NewFlags(table Table, extra ...string) *Flags {
	pf := genericclioptions.NewPrintFlags("").WithDefaultOutput("")
	return &Flags{PrintFlags: pf, table: bool(table), extra: extra}
}

// WithTypeSetter makes typed objects print with apiVersion and kind.
func (f *Flags) WithTypeSetter(scheme *runtime.Scheme) *Flags {
	f.PrintFlags.WithTypeSetter(scheme)
	return f
}

// AddFlags binds -o (and --no-headers for tables) to cmd.
func (f *Flags) AddFlags(cmd *cobra.Command) {
	f.PrintFlags.AddFlags(cmd)
	flag := cmd.Flags().Lookup("output")
	flag.Usage = fmt.Sprintf("Output format. One of: (%s).", strings.Join(f.Formats(), ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return f.Formats(), cobra.ShellCompDirectiveNoFileComp
	})
	if f.table {
		cmd.Flags().BoolVar(&f.NoHeaders, "no-headers", false, "When using the default or wide output format, don't print headers.")
	}
}

// Formats lists what -o accepts, in help order.
func (f *Flags) Formats() []string {
	var out []string
	out = append(out, f.extra...)
	if f.table {
		out = append(out, "wide")
	}
	for _, format := range f.PrintFlags.AllowedFormats() {
		if !slices.Contains(out, format) {
			out = append(out, format)
		}
	}
	return out
}

// Output is the -o value as given.
func (f *Flags) Output() string { return *f.PrintFlags.OutputFormat }

// IsTable reports whether the human table is asked for.
func (f *Flags) IsTable() bool { return f.table && (f.Output() == "" || f.Output() == "wide") }

// Wide reports -o wide.
func (f *Flags) Wide() bool { return f.Output() == "wide" }

// IsExtra reports whether the command's own format was asked for.
func (f *Flags) IsExtra() bool { return slices.Contains(f.extra, f.Output()) }

// Validate rejects an unknown -o value before anything is sent.
func (f *Flags) Validate() error {
	out := f.Output()
	if out == "" && (f.table || len(f.extra) > 0) {
		return nil
	}
	if slices.Contains(f.Formats(), out) {
		return nil
	}
	if strings.HasPrefix(out, "jsonpath") || strings.HasPrefix(out, "go-template") || strings.HasPrefix(out, "custom-columns") || strings.HasPrefix(out, "template") {
		_, err := f.PrintFlags.ToPrinter()
		return err
	}
	return fmt.Errorf("unknown output format %q: use one of %s", out, strings.Join(f.Formats(), ", "))
}

// ToPrinter returns the printer for -o. Tables need metav1.Table objects.
func (f *Flags) ToPrinter(withNamespace Namespaces) (printers.ResourcePrinter, error) {
	if f.IsTable() {
		return printers.NewTablePrinter(printers.PrintOptions{
			Wide:          f.Wide(),
			NoHeaders:     f.NoHeaders,
			WithNamespace: bool(withNamespace),
		}), nil
	}
	return f.PrintFlags.ToPrinter()
}

// Print prints obj with the printer for -o.
func (f *Flags) Print(obj runtime.Object, withNamespace Namespaces, w io.Writer) error {
	p, err := f.ToPrinter(withNamespace)
	if err != nil {
		return err
	}
	return p.PrintObj(obj, w)
}

// Column is one column of a table we build ourselves.
type Column struct {
	Name string
	// Wide columns show only with -o wide, as the server's priority-1 columns do.
	Wide bool
}

// NewTable builds a metav1.Table from rows of cells, so client-side tables
// print through the same table printer as the server's.
func NewTable(columns []Column, rows [][]any, objects []runtime.Object) *metav1.Table {
	t := &metav1.Table{}
	for _, c := range columns {
		priority := int32(0)
		if c.Wide {
			priority = 1
		}
		t.ColumnDefinitions = append(t.ColumnDefinitions, metav1.TableColumnDefinition{Name: c.Name, Type: "string", Priority: priority})
	}
	for i, cells := range rows {
		row := metav1.TableRow{Cells: cells}
		if i < len(objects) && objects[i] != nil {
			row.Object = runtime.RawExtension{Object: objects[i]}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
