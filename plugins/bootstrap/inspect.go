package bootstrap

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	"k8s.io/cluster-bootstrap/token/jws"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// InspectOptions is kubectl bootstrap inspect.
type InspectOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Print      *printer.Flags
	CAFile     string
	CACertsURL string

	core  corev1client.CoreV1Interface
	token ParsedToken
}

// NewCmdInspect builds kubectl bootstrap inspect.
func NewCmdInspect(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &InspectOptions{IOStreams: streams, f: f, Print: noName(printer.NewFlags(printer.NoTable))}
	cmd := &cobra.Command{
		Use:   "inspect TOKEN | ID | -",
		Short: "Check a token against the cluster: existence, expiry, CA hash, cluster-info signature",
		Long: cli.LongDesc(`
			Parse a token in short (id.secret) or secure (K10{hash}::id.secret)
			form, or only its ID ("-" reads it from standard input), and check it
			against the cluster: whether its Secret exists and holds the same
			secret, its expiry, usages and groups, and whether the API server would
			accept it.

			For a secure token, whether its CA hash matches this cluster's CA: the
			kubeconfig's, the one published in kube-public/cluster-info, or those
			given with --ca-file or --cacerts-url. On kubeadm clusters, whether
			cluster-info carries a valid JWS signature for the token (what kubeadm
			join checks before trusting the cluster).

			Exits 1, after the report, when a check fails. The token's secret is
			never printed.`),
		Example: templates.Examples(`
			# Inspect a token
			kubectl bootstrap inspect abcdef.0123456789abcdef

			# Check a secure token against a k3s server's CA
			kubectl bootstrap inspect - --cacerts-url https://k3s.example.com:6443/cacerts < token.txt

			# Only what the cluster knows about an ID, as JSON
			kubectl bootstrap inspect abcdef -o json`),
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTokenIDs(f, cli.OneName),
		RunE:              cli.RunE(o),
	}
	cmd.Flags().StringVar(&o.CAFile, "ca-file", "", "Check a secure token's CA hash against this CA (PEM) instead of the cluster's.")
	cmd.Flags().StringVar(&o.CACertsURL, "cacerts-url", "", "Check a secure token's CA hash against the bundle a k3s/rke2 server serves at /cacerts (it must validate that server's certificate).")
	_ = cmd.MarkFlagFilename("ca-file", "crt", "pem")
	o.Print.AddFlags(cmd)
	return cmd
}

// Complete resolves the client and parses the token or ID.
func (o *InspectOptions) Complete(_ *cobra.Command, args []string) error {
	var err error
	if o.core, err = o.f.CoreV1(); err != nil {
		return err
	}
	s, err := readTokenArg(args[0], o.In)
	if err != nil {
		return err
	}
	o.token, err = ParseToken(s, "the argument", tokenOrID)
	return err
}

// Validate checks flags.
func (o *InspectOptions) Validate() error {
	if err := checkNamespace(o.f); err != nil {
		return err
	}
	if o.CAFile != "" && o.CACertsURL != "" {
		return errors.New("--ca-file and --cacerts-url both name the CA: pass only one")
	}
	if o.CACertsURL != "" {
		if _, err := CACertsURL(o.CACertsURL); err != nil {
			return err
		}
	}
	if o.Print.Output() == "" {
		return nil
	}
	return o.Print.Validate()
}

var configMapsResource = schema.GroupResource{Resource: "configmaps"}

// Run inspects and reports; it fails, after the report, when a check did.
func (o *InspectOptions) Run(ctx context.Context) error {
	in, err := o.inspect(ctx)
	if err != nil {
		return err
	}
	if o.Print.Output() != "" {
		if err := o.Print.Print(in, printer.WithoutNamespace, o.Out); err != nil {
			return err
		}
	} else if err := in.write(o.Out); err != nil {
		return err
	}
	if len(in.Failures) > 0 {
		msg := in.Failures[0]
		if len(in.Failures) > 1 {
			msg = fmt.Sprintf("%s (and %d more problems above)", msg, len(in.Failures)-1)
		}
		return errors.New(msg)
	}
	return nil
}

// inspect checks the token against the cluster and returns what it found.
func (o *InspectOptions) inspect(ctx context.Context) (*Inspection, error) {
	p := o.token
	in := &Inspection{
		TypeMeta: metav1.TypeMeta{APIVersion: LocalAPIVersion, Kind: "TokenInspection"},
		ID:       p.ID,
		Form:     "token",
		Secret:   Namespace + "/" + SecretName(p.ID),
	}
	switch {
	case p.Secure:
		in.Form = "secure"
	case p.Secret == "":
		in.Form = "id"
	}

	s, found, err := getTokenSecret(ctx, o.core, p.ID)
	if err != nil {
		return nil, err
	}
	in.Exists = found
	if !found {
		in.fail(fmt.Sprintf("bootstrap token %q does not exist (no Secret %s): list them with %s", p.ID, in.Secret, listHint(o.f)))
	} else if t, err := FromSecret(s); err != nil {
		in.Invalid = err.Error()
		in.fail(fmt.Sprintf("bootstrap token %q is not well formed: %v; delete it and create a new one", p.ID, err))
	} else {
		t0 := now()
		in.Description = t.Description
		in.Usages, in.Groups = t.Usages, t.Groups
		in.Expires, in.TTL = ExpiresString(t), TTLString(t, t0)
		if t.Expires == nil {
			in.Expires, in.TTL = kubeadmNeverExpires, kubeadmForeverTTL // JSON as before
		}
		if p.Secret != "" {
			eq := SecretsEqual(t.Secret, p.Secret)
			in.SecretMatches = &eq
			if !eq {
				in.fail(fmt.Sprintf("the secret half does not match the stored token %q: check for a typo", p.ID))
			}
		}
		in.Problems = AuthProblems(s, t, t0)
		if in.SecretMatches != nil && !*in.SecretMatches {
			// The report is about the token given, not the one stored.
			in.Problems = append([]string{"its secret half does not match the stored token's"}, in.Problems...)
		}
		ok := len(in.Problems) == 0
		in.Authenticates = &ok
		if t.Expired(t0) {
			in.fail(fmt.Sprintf("bootstrap token %q expired at %s: create a new one with %s", p.ID, ExpiresString(t), hint(o.f, "create")))
		} else if s.Type != TokenSecretType {
			in.fail(fmt.Sprintf("Secret %s has type %q, not %q: no consumer accepts it", in.Secret, s.Type, TokenSecretType))
		}
	}

	ci, err := o.clusterInfo(ctx, p)
	if err != nil {
		return nil, err
	}
	if ci.Valid != nil && in.SecretMatches != nil && !*in.SecretMatches {
		// A signature checked with a wrong secret says nothing about
		// cluster-info: the failure is the secret's, reported above.
		ci.Valid = nil
		ci.Note = "signed for this ID; not checked with a secret that is not the stored one"
	}
	in.ClusterInfo = ci
	if ci.Valid != nil && !*ci.Valid {
		in.fail(fmt.Sprintf("kube-public/cluster-info has an invalid signature for bootstrap token %q: kubeadm join would refuse this cluster; the BootstrapSigner re-signs it, or recreate the token", p.ID))
	}

	if p.Secure {
		in.CAHash = o.checkCAHash(ctx, p, ci)
		if given := o.CAFile != "" || o.CACertsURL != ""; given && !hasHash(in.CAHash.Candidates) {
			// The CA the user named could not be read: nothing was checked.
			in.fail(fmt.Sprintf("the CA hash was not checked: %s", in.CAHash.Candidates[0].Error))
		}
		if !in.CAHash.Matches && p.CAHash != "" && hasHash(in.CAHash.Candidates) {
			in.fail(fmt.Sprintf("the token's CA hash %s does not match this cluster's CA (%s): a node would refuse to join; print a new one with %s", p.CAHash, candidateSummary(in.CAHash.Candidates), hint(o.f, "create", "-o", "secure")))
		}
	}

	return in, nil
}

// clusterInfo reads kube-public/cluster-info and checks the token's JWS
// signature over its kubeconfig, as kubeadm join does.
func (o *InspectOptions) clusterInfo(ctx context.Context, p ParsedToken) (*ClusterInfoCheck, error) {
	ci := &ClusterInfoCheck{}
	cm, err := o.core.ConfigMaps("kube-public").Get(ctx, bootstrapapi.ConfigMapClusterInfo, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		ci.Note = "no kube-public/cluster-info: only kubeadm clusters publish one (k3s and rke2 trust the K10 CA hash instead)"
		return ci, nil
	case apierrors.IsForbidden(err):
		ci.Note = "kube-public/cluster-info cannot be read with your credentials"
		return ci, nil
	case err != nil:
		return nil, apierror.Wrap(err, apierror.Op{Verb: "get", Resource: configMapsResource, Kind: "ConfigMap", Namespace: "kube-public", Name: bootstrapapi.ConfigMapClusterInfo})
	}
	ci.Found = true
	content, ok := cm.Data[bootstrapapi.KubeConfigKey]
	if !ok {
		ci.Note = "kube-public/cluster-info has no kubeconfig key"
		return ci, nil
	}
	if cfg, err := clientcmd.Load([]byte(content)); err == nil {
		for name, c := range cfg.Clusters {
			if len(c.CertificateAuthorityData) > 0 && (name == "" || ci.caPEM == nil) {
				ci.caPEM = c.CertificateAuthorityData
			}
		}
	}
	sig, signed := cm.Data[bootstrapapi.JWSSignatureKeyPrefix+p.ID]
	ci.Signed = signed
	switch {
	case !signed:
		ci.Note = fmt.Sprintf("no signature for bootstrap token %q: the BootstrapSigner signs only unexpired tokens with the signing usage, and runs only where kube-controller-manager enables it (kubeadm)", p.ID)
	case p.Secret == "":
		ci.Note = "signed for this ID; pass the whole token to verify the signature"
	default:
		valid := jws.DetachedTokenIsValid(sig, content, p.ID, p.Secret)
		ci.Valid = &valid
	}
	return ci, nil
}

// checkCAHash hashes every CA we can find for the cluster and compares.
func (o *InspectOptions) checkCAHash(ctx context.Context, p ParsedToken, ci *ClusterInfoCheck) *CAHashCheck {
	check := &CAHashCheck{Token: p.CAHash}
	add := func(b kubeconfig.CABundle, err error) {
		c := CACandidate{From: b.From}
		if err != nil {
			c.Error = apierror.OneLine(err.Error())
		} else if h, herr := K10CAHash(b.PEM); herr != nil {
			c.Error = herr.Error()
		} else {
			c.Hash = h
			if p.CAHash != "" && h == p.CAHash && !check.Matches {
				check.Matches, check.MatchedBy = true, b.From
			}
		}
		check.Candidates = append(check.Candidates, c)
	}
	switch {
	case o.CAFile != "":
		b, err := kubeconfig.ReadCAFile(o.CAFile, "--ca-file")
		if err != nil {
			b.From = "--ca-file " + o.CAFile
		}
		add(b, err)
	case o.CACertsURL != "":
		b, err := FetchCACerts(ctx, o.CACertsURL)
		if err != nil {
			b.From = o.CACertsURL
		}
		add(b, err)
	default:
		cluster, err := o.f.CurrentCluster()
		if err == nil {
			b, err := cluster.CA()
			if err != nil {
				b.From = "the kubeconfig"
			}
			add(b, err)
		}
		if ci.caPEM != nil {
			add(kubeconfig.CABundle{PEM: ci.caPEM, From: "kube-public/cluster-info"}, nil)
		}
	}
	return check
}
