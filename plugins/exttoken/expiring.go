package exttoken

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// The kinds of credential the expiry view reads.
const (
	credExtToken   = "ext-token"
	credKubeconfig = "kubeconfig"
	credV3Token    = "v3-token"
)

// defaultWithin is --within's default: a week's warning.
const defaultWithin = "7d"

// ExpiringOptions is `kubectl exttoken expiring`.
type ExpiringOptions struct {
	genericiooptions.IOStreams
	f     cli.Clients
	print *printer.Flags

	Within    string
	FailIfAny bool
	ChunkSize int64

	within      time.Duration
	tokens      tokenClient
	kubeconfigs kubeconfigClient
	legacy      legacyClient
	now         time.Time
}

// NewCmdExpiring builds `kubectl exttoken expiring`.
func NewCmdExpiring(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ExpiringOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	cmd := &cobra.Command{
		Use:   "expiring [--within DURATION] [--fail-if-any] [-o wide|json|yaml|name]",
		Short: "Every Rancher credential that expires within a window, for monitoring",
		Long: cli.LongDesc(`
			List every Rancher credential you can see that expires within --within
			(7d by default) or has already expired, soonest first, by kind:

			  ext-token   tokens.ext.cattle.io (not those of a kubeconfig)
			  kubeconfig  kubeconfigs.ext.cattle.io, through their tokens (the
			              earliest expiry, the latest use)
			  v3-token    tokens.management.cattle.io (legacy)

			with owner, what it is for (kind and description; a kubeconfig's
			clusters), when it expires and when it was last used; -o wide adds the
			exact expiry and a kubeconfig's tokens. Expiry is computed from
			creation time and TTL. Credentials that never expire are never in a
			window. Administrators see every user's credentials, everyone else
			their own. A kind the cluster does not serve, or that you may not
			list (v3 tokens for most users), is skipped with a warning on stderr.

			-o json|yaml print one item per credential: the object's apiVersion,
			kind and metadata.name, and credential, owner, purpose, expiresAt,
			expired, lastUsedAt (and tokens for a kubeconfig); -o name prints
			resource/name.

			Exit codes, stable for monitoring:
			  0  nothing expires within the window (or --fail-if-any not given)
			  3  --fail-if-any and at least one credential is shown
			  1  an error: nothing is decided, check stderr`),
		Example: templates.Examples(`
			# What expires within a week (or has expired)
			kubectl exttoken expiring

			# A monitoring check: exit 3 when anything expires within 14 days
			kubectl exttoken expiring --within 14d --fail-if-any

			# Only what has already expired, as JSON
			kubectl exttoken expiring --within 0 -o json`),
		Args: cobra.NoArgs,
		RunE: cli.RunE(o),
	}
	cmd.Flags().StringVar(&o.Within, "within", defaultWithin, "Show credentials that expire within this duration (e.g. 7d) or have expired; 0 shows only the expired.")
	cli.AddFailIfAnyFlag(cmd, &o.FailIfAny, "credential")
	cli.AddChunkSizeFlag(cmd, &o.ChunkSize)
	o.print.AddFlags(cmd)
	return cmd
}

// Complete parses the window and builds the clients.
func (o *ExpiringOptions) Complete(_ *cobra.Command, _ []string) error {
	o.now = now()
	var err error
	if o.within, err = ttl.ParseWithin("--within", o.Within); err != nil {
		return err
	}
	if o.tokens, err = newTokenClient(o.f); err != nil {
		return err
	}
	if o.kubeconfigs, err = newKubeconfigClient(o.f); err != nil {
		return err
	}
	o.legacy, err = newLegacyClient(o.f)
	return err
}

// Validate checks -o and --chunk-size.
func (o *ExpiringOptions) Validate() error {
	if o.ChunkSize < 0 {
		return fmt.Errorf("invalid --chunk-size %d: use a positive number, or 0 to fetch everything at once", o.ChunkSize)
	}
	return o.print.Validate()
}

// credential is one row of the view.
type credential struct {
	Kind, Name, Owner, Purpose string
	ExpiresAt, LastUsed        time.Time
	Tokens                     []string
	apiVersion, objKind        string
}

// Run reads every kind, keeps what expires within the window and prints
// it soonest first.
func (o *ExpiringOptions) Run(ctx context.Context) error {
	var creds []credential
	deadline := o.now.Add(o.within)
	inWindow := func(at time.Time, ok bool) bool { return ok && !at.After(deadline) }

	// ext tokens; a kubeconfig's tokens are gathered under it.
	byKubeconfig := map[string][]extToken{}
	err := o.tokens.each(ctx, "", o.ChunkSize, func(u *unstructured.Unstructured) error {
		t := tokenFrom(u)
		if id := u.GetLabels()[labelKubeconfigID]; id != "" {
			byKubeconfig[id] = append(byKubeconfig[id], t)
			return nil
		}
		if at, ok := t.expiresAt(); inWindow(at, ok) {
			creds = append(creds, credential{Kind: credExtToken, Name: t.Name, Owner: t.UserID, Purpose: purpose(kindText(t.Kind), t.Description),
				ExpiresAt: at, LastUsed: t.LastUsed, apiVersion: tokensGVR.GroupVersion().String(), objKind: "Token"})
		}
		return nil
	})
	if err := o.skippable(err, "ext tokens (tokens.ext.cattle.io)"); err != nil {
		return err
	}

	// ext kubeconfigs, through their tokens.
	kcs, err := o.kubeconfigs.list(ctx, "", o.ChunkSize)
	if err := o.skippable(err, "ext kubeconfigs (kubeconfigs.ext.cattle.io)"); err != nil {
		return err
	}
	for i := range kcs {
		k := kubeconfigFrom(&kcs[i])
		c := credential{Kind: credKubeconfig, Name: k.Name, Owner: k.User, Purpose: purpose(clustersText(k.Clusters), k.Description),
			Tokens: k.Tokens, apiVersion: kubeconfigsGVR.GroupVersion().String(), objKind: "Kubeconfig"}
		at, ok := k.expiresAt()
		if toks := byKubeconfig[k.Name]; len(toks) > 0 {
			at, ok = time.Time{}, false
			for _, t := range toks {
				if tat, tok := t.expiresAt(); tok && (!ok || tat.Before(at)) {
					at, ok = tat, true
				}
				if t.LastUsed.After(c.LastUsed) {
					c.LastUsed = t.LastUsed
				}
			}
		}
		delete(byKubeconfig, k.Name)
		if inWindow(at, ok) {
			c.ExpiresAt = at
			creds = append(creds, c)
		}
	}
	// Tokens of a kubeconfig that is not listed (deleted meanwhile, or
	// not visible) are still credentials: shown as ext tokens.
	for id, toks := range byKubeconfig {
		for _, t := range toks {
			if at, ok := t.expiresAt(); inWindow(at, ok) {
				creds = append(creds, credential{Kind: credExtToken, Name: t.Name, Owner: t.UserID, Purpose: purpose("kubeconfig "+id, t.Description),
					ExpiresAt: at, LastUsed: t.LastUsed, apiVersion: tokensGVR.GroupVersion().String(), objKind: "Token"})
			}
		}
	}

	// legacy v3 tokens.
	err = o.legacy.each(ctx, "", o.ChunkSize, func(u *unstructured.Unstructured) error {
		t := legacyFrom(u)
		if at, ok := t.expiresAt(); inWindow(at, ok) {
			creds = append(creds, credential{Kind: credV3Token, Name: t.Name, Owner: t.User, Purpose: purpose(t.Kind, t.Description),
				ExpiresAt: at, LastUsed: t.LastUsed, apiVersion: legacyGVR.GroupVersion().String(), objKind: "Token"})
		}
		return nil
	})
	if err := o.skippable(err, "legacy v3 tokens (tokens.management.cattle.io)"); err != nil {
		return err
	}

	slices.SortFunc(creds, func(a, b credential) int {
		return cmp.Or(a.ExpiresAt.Compare(b.ExpiresAt), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	if o.print.IsTable() {
		if len(creds) == 0 {
			fmt.Fprintf(o.ErrOut, "No Rancher credentials expire within %s.\n", o.Within)
			return nil
		}
		if err := o.print.Print(o.table(creds), printer.WithoutNamespace, o.Out); err != nil {
			return err
		}
	} else if err := o.print.Print(o.list(creds), printer.WithoutNamespace, o.Out); err != nil {
		return err
	}
	return cli.FailIfAny(o.FailIfAny, len(creds), "credentials")
}

// skippable turns a kind the cluster does not serve, or the caller may
// not list, into a warning; any other error stands.
func (o *ExpiringOptions) skippable(err error, what string) error {
	if err == nil {
		return nil
	}
	switch {
	case apierror.IsNotServedError(err):
		fmt.Fprintf(o.ErrOut, "warning: skipped %s: not served by this cluster\n", what)
		return nil
	case apierrors.IsForbidden(err):
		fmt.Fprintf(o.ErrOut, "warning: skipped %s: you may not list them (%s)\n", what, forbiddenCause(err))
		return nil
	}
	return err
}

// forbiddenCause is the server's own reason, in one line.
func forbiddenCause(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return apierror.OneLine(st.Status().Message)
	}
	return apierror.OneLine(err.Error())
}

func purpose(what, description string) string {
	if description == "" {
		return what
	}
	return what + ": " + description
}

// kindText names an ext token's kind (§2): "" is a derived token.
func kindText(kind string) string {
	switch kind {
	case "":
		return "derived"
	case "session":
		return "session (login)"
	}
	return kind
}

func clustersText(clusters []string) string {
	switch {
	case len(clusters) == 0:
		return "Rancher only"
	case clusters[0] == allClusters:
		return "all clusters"
	}
	return "clusters " + strings.Join(clusters, ",")
}

func (o *ExpiringOptions) table(creds []credential) runtime.Object {
	cols := []printer.Column{{Name: "KIND"}, {Name: "NAME"}, {Name: "OWNER"}, {Name: "PURPOSE"}, {Name: "EXPIRES"}, {Name: "LAST-USED"},
		{Name: "EXPIRES-AT", Wide: true}, {Name: "TOKENS", Wide: true}}
	rows := make([][]any, 0, len(creds))
	for _, c := range creds {
		rows = append(rows, []any{c.Kind, printer.EscapeText(c.Name), printer.Cell(c.Owner), printer.Cell(c.Purpose),
			humanExpires(c.ExpiresAt, true, o.now), humanAgo(c.LastUsed, o.now), c.ExpiresAt.UTC().Format(time.RFC3339),
			printer.EscapeText(strings.Join(c.Tokens, ","))})
	}
	return printer.NewTable(cols, rows, nil)
}

func (o *ExpiringOptions) list(creds []credential) runtime.Object {
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
	for _, c := range creds {
		obj := map[string]any{
			"apiVersion": c.apiVersion, "kind": c.objKind, "metadata": map[string]any{"name": c.Name},
			"credential": c.Kind, "owner": c.Owner, "purpose": c.Purpose,
			"expiresAt": c.ExpiresAt.UTC().Format(time.RFC3339), "expired": !c.ExpiresAt.After(o.now), "lastUsedAt": nil,
		}
		if !c.LastUsed.IsZero() {
			obj["lastUsedAt"] = c.LastUsed.UTC().Format(time.RFC3339)
		}
		if c.Kind == credKubeconfig {
			toks := make([]any, len(c.Tokens))
			for i, t := range c.Tokens {
				toks[i] = t
			}
			obj["tokens"] = toks
		}
		list.Items = append(list.Items, unstructured.Unstructured{Object: obj})
	}
	return list
}
