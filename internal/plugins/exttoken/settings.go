package exttoken

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/printer"
)

// settingInfo describes one of the token settings of
// docs/rancher-tokens.md §8.
type settingInfo struct {
	Name    string
	Default string // the documented default (2.8+)
	Bool    bool   // true/false rather than minutes
	Newer   bool   // exists only on newer Rancher (main); shown when present
	Zero    string // what 0 minutes means
}

var knownSettings = []settingInfo{
	{Name: "auth-token-max-ttl-minutes", Default: "129600", Zero: "unlimited"},
	{Name: "auth-token-default-ttl-minutes", Default: "129600", Newer: true, Zero: "the max"},
	{Name: "kubeconfig-default-token-ttl-minutes", Default: "43200", Zero: "never expires"},
	{Name: "kubeconfig-max-token-ttl-minutes", Default: "129600", Newer: true, Zero: "unlimited"},
	{Name: "auth-user-session-ttl-minutes", Default: "960", Zero: "unlimited"},
	{Name: "auth-user-session-idle-ttl-minutes", Default: "960", Zero: "disabled"},
	{Name: "kubeconfig-generate-token", Default: "true", Bool: true},
}

func settingNames() []string {
	var out []string
	for _, s := range knownSettings {
		out = append(out, s.Name)
	}
	return out
}

func lookupSetting(name string) (settingInfo, bool) {
	for _, s := range knownSettings {
		if s.Name == name {
			return s, true
		}
	}
	return settingInfo{}, false
}

// setting is a setting as read from the cluster.
type setting struct {
	info    settingInfo
	obj     *unstructured.Unstructured // nil when missing
	Value   string                     // effective: value, else default
	Default string
	Source  string
}

func settingFrom(info settingInfo, u *unstructured.Unstructured) setting {
	s := setting{info: info, obj: u, Default: info.Default, Source: "missing"}
	if u == nil {
		return s
	}
	value, _, _ := unstructured.NestedString(u.Object, "value")
	def, _, _ := unstructured.NestedString(u.Object, "default")
	src, _, _ := unstructured.NestedString(u.Object, "source")
	s.Default = def
	switch {
	case src == "env":
		s.Source = "env CATTLE_" + strings.ToUpper(strings.ReplaceAll(info.Name, "-", "_"))
	case value != "":
		s.Source = "value"
	default:
		s.Source = "default"
	}
	s.Value = value
	if s.Value == "" {
		s.Value = def
	}
	return s
}

// human renders the effective value as a duration.
func (s setting) human() string {
	if s.obj == nil {
		return "-"
	}
	if s.info.Bool {
		return "-"
	}
	n, err := strconv.ParseInt(s.Value, 10, 64)
	if err != nil {
		return "invalid"
	}
	if n == 0 {
		return s.info.Zero
	}
	return FormatTTL(n * msPerMinute)
}

// minutes is the effective value; ok is false when missing or not a number.
func (s setting) minutes() (int64, bool) {
	if s.obj == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(s.Value, 10, 64)
	return n, err == nil
}

// readSettings gets the known settings one by one (a Rancher has hundreds
// of settings; we need seven). Missing ones come back with obj nil.
func readSettings(ctx context.Context, ri dynamic.ResourceInterface) (map[string]setting, error) {
	out := map[string]setting{}
	for _, info := range knownSettings {
		u, err := ri.Get(ctx, info.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && !apierror.IsNotServedError(err) {
			out[info.Name] = settingFrom(info, nil)
			continue
		}
		if err != nil {
			return nil, apierror.Wrap(err, settingOp("get", info.Name))
		}
		out[info.Name] = settingFrom(info, u)
	}
	return out, nil
}

// readTTLPolicy reads what the server's TTL ingest depends on; ok is
// false when the settings cannot be read (e.g. not allowed).
func readTTLPolicy(ctx context.Context, f cli.Clients) (ttlPolicy, bool) {
	ri, err := dynamicFor(f, settingsGVR)
	if err != nil {
		return ttlPolicy{}, false
	}
	get := func(name string) (setting, error) {
		info, _ := lookupSetting(name)
		u, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return settingFrom(info, nil), err
		}
		return settingFrom(info, u), nil
	}
	max, err := get("auth-token-max-ttl-minutes")
	if err != nil {
		return ttlPolicy{}, false
	}
	p := ttlPolicy{}
	var ok bool
	if p.maxMinutes, ok = max.minutes(); !ok {
		return ttlPolicy{}, false
	}
	if def, err := get("auth-token-default-ttl-minutes"); err == nil {
		if p.defaultMinutes, ok = def.minutes(); ok {
			p.hasDefault = true
		}
	}
	return p, true
}

// tokenHashing is the state of feature token-hashing.
type tokenHashing struct {
	obj     *unstructured.Unstructured
	Enabled bool
	Default bool
	Locked  bool
	ReadErr string
}

func readTokenHashing(ctx context.Context, f cli.Clients) tokenHashing {
	ri, err := dynamicFor(f, featuresGVR)
	if err != nil {
		return tokenHashing{ReadErr: err.Error()}
	}
	u, err := ri.Get(ctx, "token-hashing", metav1.GetOptions{})
	if err != nil {
		return tokenHashing{ReadErr: apierror.Wrap(err, apierror.Op{Verb: "get", Resource: featuresGVR.GroupResource(), Kind: "feature", Name: "token-hashing"}).Error()}
	}
	h := tokenHashing{obj: u}
	h.Default, _, _ = unstructured.NestedBool(u.Object, "status", "default")
	h.Enabled = h.Default
	if v, found, _ := unstructured.NestedBool(u.Object, "spec", "value"); found {
		h.Enabled = v
	}
	if v, found, _ := unstructured.NestedBool(u.Object, "status", "lockedValue"); found {
		h.Enabled, h.Locked = v, true
	}
	return h
}

func (h tokenHashing) line() string {
	switch {
	case h.ReadErr != "":
		return "Feature token-hashing: unknown (" + h.ReadErr + ")"
	case h.Enabled:
		return "Feature token-hashing: enabled. v3 token values are stored as one-way hashes; this cannot be turned off."
	default:
		return fmt.Sprintf("Feature token-hashing: disabled (default %t): v3 token values are stored in plaintext. Enabling it is irreversible: it cannot be disabled again.", h.Default)
	}
}

// SettingsOptions is `kubectl exttoken settings`.
type SettingsOptions struct {
	f       cli.Clients
	streams genericiooptions.IOStreams
	print   *printer.Flags
}

// NewSettingsCmd builds `kubectl exttoken settings` and `settings set`.
func NewSettingsCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SettingsOptions{f: f, streams: streams, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:   "settings [-o wide|json|yaml]",
		Short: "Show Rancher's token TTL settings and the token-hashing feature",
		Long: templates.LongDesc(`
			Show the Rancher settings that govern token lifetimes
			(settings.management.cattle.io): auth-token-max-ttl-minutes,
			kubeconfig-default-token-ttl-minutes, auth-user-session-ttl-minutes,
			auth-user-session-idle-ttl-minutes, kubeconfig-generate-token, and
			auth-token-default-ttl-minutes and kubeconfig-max-token-ttl-minutes
			where the Rancher version has them.

			VALUE is the effective value (the setting's value, else its default),
			SOURCE says which it is (env when an environment variable of the Rancher
			server sets it), DURATION reads the minutes as a duration.

			Below the table: whether the token-hashing feature is on. Enabling it
			is irreversible.`),
		Example: templates.Examples(`
			# The settings in a table
			kubectl exttoken settings

			# As YAML objects
			kubectl exttoken settings -o yaml

			# Cap new tokens at 30 days
			kubectl exttoken settings set auth-token-max-ttl-minutes 43200`),
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	o.print.AddFlags(cmd)
	cmd.AddCommand(NewSettingsSetCmd(f, streams))
	return cmd
}

// Complete has nothing to resolve: settings are cluster-scoped.
func (o *SettingsOptions) Complete(_ *cobra.Command, _ []string) error { return nil }

// Validate checks -o.
func (o *SettingsOptions) Validate() error { return o.print.Validate() }

// Run reads and prints the settings.
func (o *SettingsOptions) Run(ctx context.Context) error {
	ri, err := dynamicFor(o.f, settingsGVR)
	if err != nil {
		return err
	}
	settings, err := readSettings(ctx, ri)
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
		return o.print.Print(list, false, o.streams.Out)
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
		rows = append(rows, []any{info.Name, value, s.Default, s.Source, s.human()})
		objs = append(objs, nil)
	}
	t := printer.NewTable([]printer.Column{{Name: "NAME"}, {Name: "VALUE"}, {Name: "DEFAULT"}, {Name: "SOURCE"}, {Name: "DURATION"}}, rows, objs)
	if err := o.print.Print(t, false, o.streams.Out); err != nil {
		return err
	}
	if !o.print.NoHeaders {
		fmt.Fprintln(o.streams.Out)
		fmt.Fprintln(o.streams.Out, hashing.line())
	}
	return nil
}

// SettingsSetOptions is `kubectl exttoken settings set`.
type SettingsSetOptions struct {
	f       cli.Clients
	streams genericiooptions.IOStreams

	Name, Value string
	info        settingInfo
}

// NewSettingsSetCmd builds `kubectl exttoken settings set NAME VALUE`.
func NewSettingsSetCmd(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SettingsSetOptions{f: f, streams: streams}
	cmd := &cobra.Command{
		Use:   "set NAME VALUE",
		Short: "Change a token TTL setting, with the checks Rancher's UI makes",
		Long: templates.LongDesc(`
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
			# Tokens live at most 30 days
			kubectl exttoken settings set auth-token-max-ttl-minutes 30d

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

// Complete normalises the value (durations become minutes).
func (o *SettingsSetOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name, o.Value = args[0], strings.TrimSpace(args[1])
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
		ms, perr := ParseTTL(o.Value)
		if perr != nil || ms < 0 || ms%msPerMinute != 0 {
			return fmt.Errorf("invalid value %q for %s: give whole minutes (an integer of 0 or more) or a duration such as 30d or 16h", o.Value, o.Name)
		}
		n = ms / msPerMinute
	}
	if n < 0 {
		return fmt.Errorf("invalid value %q for %s: minutes cannot be negative; use 0 for %s", o.Value, o.Name, info.Zero)
	}
	o.Value = strconv.FormatInt(n, 10)
	return nil
}

// Validate is done against the cluster in Run; nothing else to check.
func (o *SettingsSetOptions) Validate() error { return nil }

// consistency checks the new value against the other settings. A token
// default above the maximum is only a note: the server clamps it (§4).
func consistency(name string, n int64, cur map[string]setting) (note string, err error) {
	val := func(key string) (int64, bool) {
		if key == name {
			return n, true
		}
		return cur[key].minutes()
	}
	finite := func(v int64) int64 { // 0 means unlimited for maxima
		if v == 0 {
			return 1<<62 - 1
		}
		return v
	}
	tokenMax, hasTokenMax := val("auth-token-max-ttl-minutes")
	kcMax, hasKcMax := val("kubeconfig-max-token-ttl-minutes")
	if !hasKcMax {
		kcMax, hasKcMax = tokenMax, hasTokenMax
	}
	if kcDef, ok := val("kubeconfig-default-token-ttl-minutes"); ok && hasKcMax && finite(kcDef) > finite(kcMax) {
		return "", fmt.Errorf("kubeconfig-default-token-ttl-minutes (%s) would exceed the maximum (%s): lower the default or raise the maximum first", minutesText(kcDef, "never expires"), minutesText(kcMax, "unlimited"))
	}
	if def, ok := val("auth-token-default-ttl-minutes"); ok && hasTokenMax && def != 0 && finite(def) > finite(tokenMax) {
		note = fmt.Sprintf("note: auth-token-default-ttl-minutes (%s) exceeds auth-token-max-ttl-minutes (%s): new tokens without a TTL get the maximum", minutesText(def, "the max"), minutesText(tokenMax, "unlimited"))
	}
	sess, okS := val("auth-user-session-ttl-minutes")
	idle, okI := val("auth-user-session-idle-ttl-minutes")
	if okS && okI && idle != 0 && finite(idle) > finite(sess) {
		return "", fmt.Errorf("auth-user-session-idle-ttl-minutes (%s) would exceed auth-user-session-ttl-minutes (%s): the idle timeout must not be longer than the session", minutesText(idle, "disabled"), minutesText(sess, "unlimited"))
	}
	return note, nil
}

func minutesText(n int64, zero string) string {
	if n == 0 {
		return "0 = " + zero
	}
	return fmt.Sprintf("%d = %s", n, FormatTTL(n*msPerMinute))
}

// Run checks consistency with the current settings and patches the value.
func (o *SettingsSetOptions) Run(ctx context.Context) error {
	ri, err := dynamicFor(o.f, settingsGVR)
	if err != nil {
		return err
	}
	cur, err := readSettings(ctx, ri)
	if err != nil {
		return err
	}
	target := cur[o.Name]
	if target.obj == nil {
		return fmt.Errorf("setting %s does not exist in this Rancher (older than the setting?): nothing to set", o.Name)
	}
	note := ""
	if !o.info.Bool {
		n, _ := strconv.ParseInt(o.Value, 10, 64)
		if note, err = consistency(o.Name, n, cur); err != nil {
			return err
		}
	}
	patch := fmt.Sprintf(`{"value":%q}`, o.Value)
	if _, err := ri.Patch(ctx, o.Name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
		return apierror.Wrap(err, settingOp("patch", o.Name))
	}
	human := ""
	if !o.info.Bool {
		human = " (" + setting{info: o.info, obj: target.obj, Value: o.Value}.human() + ")"
	}
	fmt.Fprintf(o.streams.Out, "setting.management.cattle.io/%s set to %s%s\n", o.Name, o.Value, human)
	if note != "" {
		fmt.Fprintln(o.streams.ErrOut, note)
	}
	if strings.HasPrefix(target.Source, "env ") {
		fmt.Fprintf(o.streams.ErrOut, "warning: %s is set by the environment variable %s of the Rancher server, which wins over this value\n", o.Name, strings.TrimPrefix(target.Source, "env "))
	}
	return nil
}
