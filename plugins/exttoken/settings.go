package exttoken

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// SettingsOptions is `kubectl exttoken settings`.
type SettingsOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	settings dynamic.ResourceInterface
}

// NewCmdSettings builds `kubectl exttoken settings` and `settings set`.
func NewCmdSettings(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SettingsOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:   "settings [-o wide|json|yaml]",
		Short: "Show Rancher's token TTL settings and the token-hashing feature",
		Long: cli.LongDesc(`
			Show the Rancher settings that govern token lifetimes
			(settings.management.cattle.io): auth-token-max-ttl-minutes,
			kubeconfig-default-token-ttl-minutes, auth-user-session-ttl-minutes,
			auth-user-session-idle-ttl-minutes, kubeconfig-generate-token, and
			auth-token-default-ttl-minutes and kubeconfig-max-token-ttl-minutes
			where the Rancher version has them.

			VALUE is the effective value (the setting's value, else its default),
			SOURCE says which it is (env when an environment variable of the Rancher
			server sets it), DURATION reads the minutes as a duration. -o wide adds
			ZERO-MEANS (what 0 minutes means for that setting) and CUSTOMIZED
			(whether someone changed it from Rancher's default, the setting's own
			field).

			Below the table: whether the token-hashing feature is on. Enabling it
			is irreversible.`),
		Example: templates.Examples(`
			# The settings in a table
			kubectl exttoken settings

			# As YAML objects
			kubectl exttoken settings -o yaml

			# With what 0 means for each, and which were customized
			kubectl exttoken settings -o wide

			# Kubeconfig tokens live 7 days unless asked otherwise
			kubectl exttoken settings set kubeconfig-default-token-ttl-minutes 7d`),
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	o.print.AddFlags(cmd)
	cmd.AddCommand(NewCmdSettingsSet(f, streams))
	return cmd
}

// Complete builds the client.
func (o *SettingsOptions) Complete(_ *cobra.Command, _ []string) error {
	var err error
	o.settings, err = settingsClient(o.f)
	return err
}

func settingsClient(f cli.Clients) (dynamic.ResourceInterface, error) {
	dyn, err := f.Dynamic()
	if err != nil {
		return nil, err
	}
	return dyn.Resource(settingsGVR), nil
}

// Validate checks -o.
func (o *SettingsOptions) Validate() error { return o.print.Validate() }

// Run reads and prints the settings.
func (o *SettingsOptions) Run(ctx context.Context) error {
	settings, err := readSettings(ctx, o.settings)
	if err != nil {
		return err
	}
	hashing := readTokenHashing(ctx, o.f)
	if !o.print.IsTable() {
		list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List"}}
		for _, info := range knownSettings {
			if s := settings[info.Name]; s.obj != nil {
				list.Items = append(list.Items, *s.obj)
			}
		}
		if hashing.obj != nil {
			list.Items = append(list.Items, *hashing.obj)
		}
		return o.print.Print(list, printer.WithoutNamespace, o.Out)
	}
	var rows [][]any
	var objs []runtime.Object
	for _, info := range knownSettings {
		s := settings[info.Name]
		if s.obj == nil && info.Newer {
			continue
		}
		value := s.Value
		if s.obj == nil {
			value = "<missing>"
		}
		zero := info.Zero
		if info.Bool {
			zero = "<none>" // true or false, not minutes
		}
		// Values are the server's free text (a setting may hold a
		// kilobyte of JSON): escaped and cut as every free-text cell.
		rows = append(rows, []any{info.Name, printer.Cell(value), printer.Cell(s.Default), printer.Cell(s.Source), s.human(), zero, s.customized()})
		objs = append(objs, nil)
	}
	t := printer.NewTable([]printer.Column{{Name: "NAME"}, {Name: "VALUE"}, {Name: "DEFAULT"}, {Name: "SOURCE"}, {Name: "DURATION"},
		{Name: "ZERO-MEANS", Wide: true}, {Name: "CUSTOMIZED", Wide: true}}, rows, objs)
	if err := o.print.Print(t, printer.WithoutNamespace, o.Out); err != nil {
		return err
	}
	if !o.print.NoHeaders {
		fmt.Fprintln(o.Out)
		fmt.Fprintln(o.Out, hashing.line())
	}
	return nil
}

// SettingsSetOptions is `kubectl exttoken settings set`.
type SettingsSetOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Name, Value string

	info     settingInfo
	settings dynamic.ResourceInterface
}

// NewCmdSettingsSet builds `kubectl exttoken settings set NAME VALUE`.
func NewCmdSettingsSet(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SettingsSetOptions{IOStreams: streams, f: f}
	cmd := &cobra.Command{
		Use:   "set NAME VALUE",
		Short: "Change a token TTL setting, with the checks Rancher's UI makes",
		Long: cli.LongDesc(`
			Set one of the token settings. Minutes settings take a whole number of
			minutes (0 and up) or a duration such as 30d or 16h; kubeconfig-generate-token
			takes true or false.

			The value must be consistent with the other settings: the kubeconfig
			default TTL may not exceed the maximum TTL (kubeconfig-max-token-ttl-minutes
			where it exists, else auth-token-max-ttl-minutes), the token default may
			not exceed the maximum, and the idle session timeout may not exceed the
			session TTL. Lowering the maximum does not shorten existing tokens; it
			caps new ones and TTL changes.`),
		Example: templates.Examples(`
			# Tokens live at most 120 days (the default maximum is 90)
			kubectl exttoken settings set auth-token-max-ttl-minutes 120d

			# Log idle UI sessions out after 2 hours
			kubectl exttoken settings set auth-user-session-idle-ttl-minutes 120`),
		Args: cobra.ExactArgs(2),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return settingNames(), cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: cli.RunE(o),
	}
	return cmd
}

// Complete normalises the value (durations become minutes) and builds
// the client.
func (o *SettingsSetOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name, o.Value = args[0], strings.TrimSpace(args[1])
	var err error
	if o.settings, err = settingsClient(o.f); err != nil {
		return err
	}
	info, ok := lookupSetting(o.Name)
	if !ok {
		return fmt.Errorf("unknown setting %q: settings set handles %s", o.Name, strings.Join(settingNames(), ", "))
	}
	o.info = info
	if info.Bool {
		b, err := strconv.ParseBool(o.Value)
		if err != nil {
			return fmt.Errorf("invalid value %q for %s: use true or false", o.Value, o.Name)
		}
		o.Value = strconv.FormatBool(b)
		return nil
	}
	n, err := strconv.ParseInt(o.Value, 10, 64)
	if err != nil {
		v, perr := ttl.Parse(o.Name, o.Value)
		if perr != nil || v.Never || v.Duration%time.Minute != 0 {
			return fmt.Errorf("invalid value %q for %s: give whole minutes (an integer of 0 or more) or a duration such as 30d or 16h", o.Value, o.Name)
		}
		n = int64(v.Duration / time.Minute)
	}
	if n < 0 {
		return fmt.Errorf("invalid value %q for %s: minutes cannot be negative; use 0 for %s", o.Value, o.Name, info.Zero)
	}
	o.Value = strconv.FormatInt(n, 10)
	return nil
}

// Validate has nothing left to check: consistency with the other
// settings needs them, so Run checks it before it patches.
func (o *SettingsSetOptions) Validate() error { return nil }

// Run checks consistency with the current settings and patches the value.
func (o *SettingsSetOptions) Run(ctx context.Context) error {
	cur, err := readSettings(ctx, o.settings)
	if err != nil {
		return err
	}
	target := cur[o.Name]
	if target.obj == nil {
		return fmt.Errorf("setting %s does not exist in this Rancher (older than the setting?): nothing to set", o.Name)
	}
	if !o.info.Bool {
		n, _ := strconv.ParseInt(o.Value, 10, 64)
		if err := consistency(o.Name, n, cur); err != nil {
			return err
		}
	}
	patch := fmt.Sprintf(`{"value":%q}`, o.Value)
	if _, err := o.settings.Patch(ctx, o.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return apierror.Wrap(err, settingOp("patch", o.Name))
	}
	human := ""
	if !o.info.Bool {
		human = " (" + setting{info: o.info, obj: target.obj, Value: o.Value}.human() + ")"
	}
	fmt.Fprintf(o.Out, "setting.management.cattle.io/%s set to %s%s\n", o.Name, o.Value, human)
	if strings.HasPrefix(target.Source, "env ") {
		fmt.Fprintf(o.ErrOut, "warning: %s is set by the environment variable %s of the Rancher server, which wins over this value\n", o.Name, strings.TrimPrefix(target.Source, "env "))
	}
	return nil
}
