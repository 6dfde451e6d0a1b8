package exttoken

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/atomicfile"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// CreateOptions is `kubectl exttoken create`.
type CreateOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	Description    string
	TTL            string
	Kind           string
	ClusterName    string
	RancherURL     string
	KubeconfigFile string
	Force          bool
	DryRun         string

	ttlMs  int64
	tokens tokenClient
	server string // kubeconfig server, -o kubeconfig only
	caData []byte
}

// NewCmdCreate builds `kubectl exttoken create`.
func NewCmdCreate(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CreateOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.NoTable, "bearer", "value", "kubeconfig")}
	cmd := &cobra.Command{
		Use:   "create [--description D] [--ttl DURATION] [--kind K] [--cluster-name ID] [-o bearer|value|json|yaml|kubeconfig]",
		Short: "Create a Rancher API token and print it once, ready to use",
		Long: cli.LongDesc(`
			Create a Rancher token (tokens.ext.cattle.io) for yourself and print it
			exactly once. Rancher never shows a token value again: store it now.

			The default output is the bearer token, ext/<name>:<value>, ready for an
			Authorization: Bearer header or a kubeconfig (Rancher 2.13+ returns it as
			status.bearerToken; for 2.12 it is built the same way). -o value prints
			only the secret part; -o json|yaml the whole create response (a
			jsonpath or go-template must print status.value, else the token is
			deleted again; -o name cannot carry the value and is refused);
			-o kubeconfig a kubeconfig whose user carries the token for the Rancher
			cluster URL https://<rancher>/k8s/clusters/<id>, on stdout or, with
			--kubeconfig-file, into a new file (mode 0600, written atomically, never
			over an existing file without --force).

			--ttl takes 90m, 12h, 30d, 1d12h or never and is sent in the
			milliseconds the API counts; without it, or with 0, the server applies
			its default. A TTL under one minute gets a warning.
			The server clamps every TTL to auth-token-max-ttl-minutes: when that
			setting is readable, the command says what the token will get.

			Your credential must be a Rancher token (a kubeconfig from Rancher):
			Rancher creates tokens only for requests it authenticated itself.

			--cluster-name scopes the token to one downstream cluster (Rancher
			2.13+; spec.clusterName). It is not kubectl's --cluster, which picks a
			kubeconfig entry; likewise --rancher-url, not kubectl's --server, sets
			the address written into -o kubeconfig.`),
		Example: templates.Examples(`
			# A token for CI that expires in 30 days
			kubectl exttoken create --description "CI pipeline" --ttl 30d

			# Only the secret value, into a variable
			TOKEN=$(kubectl exttoken create --ttl 12h -o value)

			# A kubeconfig for the downstream cluster c-m-abc12, good for 90 minutes
			kubectl exttoken create --ttl 90m --cluster-name c-m-abc12 -o kubeconfig \
			  --rancher-url https://rancher.example.com --kubeconfig-file ci.kubeconfig

			# What would be sent, without creating anything
			kubectl exttoken create --ttl 7d --dry-run=client -o yaml`),
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Description, "description", "", "Human readable description of the token (spec.description).")
	fl.StringVar(&o.TTL, "ttl", "", "Time to live: 90m, 12h, 30d, 1d12h or never; 0 (the default) means the server's default TTL.")
	fl.StringVar(&o.Kind, "kind", "", `Kind of the token (spec.kind); "session" marks a login token, anything else a derived one.`)
	fl.StringVar(&o.ClusterName, "cluster-name", "", "Scope the token to this Rancher cluster ID (spec.clusterName, Rancher 2.13+).")
	fl.StringVar(&o.RancherURL, "rancher-url", "", "Rancher's https address for -o kubeconfig (default: taken from the current server when it is a Rancher cluster URL).")
	fl.StringVar(&o.KubeconfigFile, "kubeconfig-file", "", "With -o kubeconfig, write the kubeconfig to this new file (mode 0600) instead of stdout.")
	fl.BoolVar(&o.Force, "force", false, "With --kubeconfig-file, replace an existing file.")
	dryrun.AddFlag(cmd, &o.DryRun, "sent")
	o.print.AddFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("ttl", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"90m", "12h", "1d", "7d", "30d", "90d", "never"}, cobra.ShellCompDirectiveNoFileComp
	})
	completeKinds(cmd, extKinds)
	return cmd
}

// Complete parses the TTL, builds the client and, for -o kubeconfig,
// settles the server and its CA.
func (o *CreateOptions) Complete(_ *cobra.Command, _ []string) error {
	if o.print.Output() == "" {
		*o.print.PrintFlags.OutputFormat = "bearer"
	}
	if o.TTL != "" {
		ms, err := parseTTL("--ttl", o.TTL)
		if err != nil {
			return err
		}
		o.ttlMs = ms
	}
	var err error
	if o.tokens, err = newTokenClient(o.f); err != nil {
		return err
	}
	if o.print.Output() == "kubeconfig" {
		cluster, err := o.f.CurrentCluster()
		if err != nil {
			return err
		}
		if o.server, err = rancherServer(o.RancherURL, cluster.Server, o.ClusterName); err != nil {
			return err
		}
		if (o.RancherURL == "" || sameHost(o.server, cluster.Server)) && cluster.HasCA() {
			ca, err := cluster.CA()
			if err != nil {
				return fmt.Errorf("cannot embed the cluster's CA in the kubeconfig: %w; fix certificate-authority in the kubeconfig", err)
			}
			o.caData = ca.PEM
		}
	}
	return nil
}

// Validate checks everything that can be checked before a token exists,
// so a failure never leaves a token behind.
func (o *CreateOptions) Validate() error {
	if err := o.print.Validate(); err != nil {
		return err
	}
	if err := dryrun.Validate(o.DryRun); err != nil {
		return err
	}
	if o.print.Output() == "name" && o.DryRun == dryrun.None {
		return fmt.Errorf("-o name cannot carry the token's value, which Rancher shows only once: use -o bearer (the default), value, kubeconfig, json or yaml")
	}
	if o.ClusterName != "" {
		if errs := validation.IsDNS1123Subdomain(o.ClusterName); len(errs) > 0 {
			return fmt.Errorf("invalid --cluster-name %q: a Rancher cluster ID such as local or c-m-abc12 (%s)", o.ClusterName, errs[0])
		}
	}
	if o.Kind != "" {
		if errs := validation.IsValidLabelValue(o.Kind); len(errs) > 0 {
			return fmt.Errorf("invalid --kind %q: it becomes a label value (%s)", o.Kind, errs[0])
		}
	}
	if o.KubeconfigFile != "" && o.print.Output() != "kubeconfig" {
		return fmt.Errorf("--kubeconfig-file needs -o kubeconfig")
	}
	if o.RancherURL != "" && o.print.Output() != "kubeconfig" {
		return fmt.Errorf("--rancher-url needs -o kubeconfig")
	}
	if o.KubeconfigFile != "" {
		if err := atomicfile.CheckWritable(o.KubeconfigFile, o.Force, "--kubeconfig-file"); err != nil {
			return err
		}
	}
	return nil
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host == ub.Host
}

func (o *CreateOptions) object() *unstructured.Unstructured {
	spec := map[string]any{"ttl": o.ttlMs, "kind": o.Kind}
	if o.Description != "" {
		spec["description"] = o.Description
	}
	if o.ClusterName != "" {
		spec["clusterName"] = o.ClusterName
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": tokensGVR.GroupVersion().String(),
		"kind":       "Token",
		// Rancher ignores names and always generates token-xxxxx.
		"metadata": map[string]any{"generateName": "token-"},
		"spec":     spec,
	}}
}

// Run creates the token and prints it once.
func (o *CreateOptions) Run(ctx context.Context) error {
	if w := shortTTLWarning(o.ttlMs); w != "" {
		fmt.Fprintln(o.ErrOut, w)
	}
	obj := o.object()
	if o.DryRun == dryrun.Client {
		return o.printDryRun(obj)
	}
	// What the server will clamp the TTL to, said with the result (so a
	// failed create still prints exactly one line).
	clamp := ""
	if o.ttlMs != 0 {
		if policy, ok := readTTLPolicy(ctx, o.f); ok {
			clamp = policy.clampWarning(o.ttlMs)
		}
	}
	created, err := o.tokens.create(ctx, obj, metav1.CreateOptions{DryRun: dryrun.Request(o.DryRun)})
	if err != nil {
		return err
	}
	if clamp != "" {
		fmt.Fprintln(o.ErrOut, clamp)
	}
	if o.DryRun == dryrun.Server {
		scrub(created)
		if err := o.checkScope(created); err != nil {
			return err
		}
		return o.printDryRun(created)
	}
	if err := o.checkScope(created); err != nil {
		return o.undo(ctx, created.GetName(), err)
	}
	return o.printCreated(ctx, created)
}

// checkScope fails when the server dropped a requested cluster scope:
// Rancher 2.12 has no spec.clusterName and silently returns a token valid
// for every cluster (docs/rancher-tokens.md §1).
func (o *CreateOptions) checkScope(created *unstructured.Unstructured) error {
	if o.ClusterName == "" {
		return nil
	}
	got, _, _ := unstructured.NestedString(created.Object, "spec", "clusterName")
	if got == o.ClusterName {
		return nil
	}
	return fmt.Errorf("the server dropped --cluster-name %s (it returned a token for every cluster): cluster-scoped tokens need Rancher 2.13 or later", o.ClusterName)
}

func (o *CreateOptions) printDryRun(obj *unstructured.Unstructured) error {
	if !o.print.IsExtra() {
		return o.print.Print(obj, printer.WithoutNamespace, o.Out)
	}
	name := obj.GetName()
	if name == "" {
		name = "(generated name)"
	}
	fmt.Fprintf(o.Out, "%s/%s created%s\n", extTokenResource, name, dryrun.Suffix(o.DryRun))
	return nil
}

func (o *CreateOptions) printCreated(ctx context.Context, created *unstructured.Unstructured) error {
	name := created.GetName()
	value, _, _ := unstructured.NestedString(created.Object, "status", "value")
	if value == "" {
		return fmt.Errorf("token %q was created but the server returned no value: delete it with %s and check the server version", name, command(o.f, "delete", name))
	}
	bearer, _, _ := unstructured.NestedString(created.Object, "status", "bearerToken")
	if bearer == "" {
		// Before 2.13 the server leaves assembling it to the client.
		bearer = "ext/" + name + ":" + value
	}
	t := tokenFrom(created)
	switch o.print.Output() {
	case "bearer":
		fmt.Fprintln(o.Out, bearer)
	case "value":
		fmt.Fprintln(o.Out, value)
	case "kubeconfig":
		data, err := buildKubeconfig(o.server, o.caData, name, bearer)
		if err != nil {
			return o.undo(ctx, name, err)
		}
		if o.KubeconfigFile == "" {
			if _, err := o.Out.Write(data); err != nil {
				return o.undo(ctx, name, err)
			}
		} else {
			if err := atomicfile.Write(o.KubeconfigFile, data, o.Force); err != nil {
				return o.undo(ctx, name, err)
			}
			fmt.Fprintf(o.ErrOut, "Wrote kubeconfig %s (mode 0600) for %s, user %s.\n", o.KubeconfigFile, o.server, name)
		}
	default:
		// Rendered first: a template that leaves the value out would
		// throw the only copy away.
		var buf bytes.Buffer
		if err := o.print.Print(created, printer.WithoutNamespace, &buf); err != nil {
			return o.undo(ctx, name, err)
		}
		if !bytes.Contains(buf.Bytes(), []byte(value)) {
			return o.undo(ctx, name, fmt.Errorf("-o %s does not print the token's value (status.value), which Rancher shows only once", o.print.Output()))
		}
		if _, err := o.Out.Write(buf.Bytes()); err != nil {
			return o.undo(ctx, name, err)
		}
	}
	at, ok := t.expiresAt()
	expires := "never expires"
	if ok {
		expires = fmt.Sprintf("expires %s (TTL %s)", at.UTC().Format(time.RFC3339), formatTTL(t.TTL))
	}
	fmt.Fprintf(o.ErrOut, "%s/%s created for user %s, %s.\n", extTokenResource, name, printers.EscapeTerminal(t.UserID), expires)
	fmt.Fprintln(o.ErrOut, "The token value is shown only this once; Rancher cannot show it again. Store it now.")
	return nil
}

// undo deletes a token whose value could not be handed over, or whose
// scope is not the one asked for, so no such credential is left behind.
func (o *CreateOptions) undo(ctx context.Context, name string, cause error) error {
	if err := o.tokens.delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("%w; token %q was created and could not be deleted (%s): delete it with %s", cause, name, apierror.OneLine(err.Error()), command(o.f, "delete", name))
	}
	return fmt.Errorf("%w; token %q was deleted again, nothing was kept", cause, name)
}
