package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// Output formats of create and generate besides json/yaml/templates.
const (
	outputToken  = "token"
	outputSecure = "secure"
)

// CreateOptions is kubectl bootstrap create.
type CreateOptions struct {
	genericiooptions.IOStreams
	f cli.Clients

	Print            *printer.Flags
	TTL              string
	Description      string
	Groups           []string
	Usages           []string
	Flavor           string
	PrintJoinCommand bool
	JoinServer       string
	CAFile           string
	CACertsURL       string
	CertificateKey   string
	ControlPlane     bool
	DryRun           string
	Reuse            bool
	File             outputFile

	// Resolved by Complete for Run.
	core      corev1client.CoreV1Interface
	detect    bool   // the flavor is detected (GET /version)
	token     *Token // given or generated
	given     bool   // the token was an argument
	ttl       ttl.Value
	flavor    Flavor // "" until detected
	certKey   []byte // --certificate-key, decoded
	groupsSet bool
}

// NewCreateOptions has kubeadm's defaults: 24h, signing+authentication.
func NewCreateOptions(f cli.Clients, streams genericiooptions.IOStreams) *CreateOptions {
	return &CreateOptions{
		IOStreams: streams,
		f:         f,
		// -o name is not offered: the generated secret would be lost.
		Print:  noName(printer.NewFlags(printer.NoTable, outputToken, outputSecure)),
		TTL:    "24h",
		Usages: slices.Clone(DefaultUsages),
		DryRun: dryrun.None,
	}
}

// NewCmdCreate builds kubectl bootstrap create.
func NewCmdCreate(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewCreateOptions(f, streams)
	cmd := &cobra.Command{
		Use:   "create [TOKEN | -]",
		Short: "Create a bootstrap token, exactly as kubeadm token create does",
		Long: cli.LongDesc(`
			Create a bootstrap token: a Secret bootstrap-token-{id} of type
			bootstrap.kubernetes.io/token in kube-system, written exactly as
			kubeadm's own code writes it, so kubeadm, k3s and rke2 see it as
			theirs.

			Without TOKEN a random one is generated; "-" reads it from standard
			input. The flavor is --flavor, else detected from the server's version
			(+k3s, +rke2; said on stderr). The token is printed as id.secret for
			kubeadm, and in the k3s secure form K10{CA hash}::id.secret for k3s
			and rke2 (-o token and -o secure choose), whose hash lets a joining
			node verify the cluster (sha256 of the CA PEM exactly as given, or of
			the root's DER for a bundle). The CA comes from the kubeconfig,
			--ca-file, or a k3s/rke2 server's /cacerts (--cacerts-url), which is
			only trusted when it validates that server's own TLS certificate.

			--print-join-command prints, instead of the token, what a new node
			runs: "kubeadm join" with the discovery hash of every CA certificate
			(as kubeadm token create --print-join-command), the k3s install line,
			or the rke2 agent config.yaml. The join address is --join-server (a
			missing port is the flavor's: 6443, or 9345 for rke2); else, for
			kubeadm, the cluster's controlPlaneEndpoint (kube-system/kubeadm-config),
			else the server in kube-public/cluster-info; else the kubeconfig's
			server (port 9345 for rke2), which must not be a proxy (a URL with a
			path). When these differ, stderr says which was used and why. With -o
			json|yaml it prints the join material for automation instead: flavor,
			endpoint, token, CA hashes (kubeadm) or secure token (k3s, rke2), and
			the join command as an argv.

			--control-plane --certificate-key KEY prints a kubeadm join for a new
			control-plane node. The key is checked first by decrypting
			kube-system/kubeadm-certs, which must still be there with its proxy
			token unexpired; otherwise 'kubeadm init phase upload-certs
			--upload-certs' has to run on a control-plane node again.

			Extra groups default to the flavor's own
			(system:bootstrappers:{flavor}:default-node-token) and are left out
			when --usages lacks authentication.`),
		Example: templates.Examples(`
			# Create a token valid for 24 hours and print it
			kubectl bootstrap create

			# Print the kubeadm join command for a new worker
			kubectl bootstrap create --print-join-command

			# A k3s agent join line, the token never expiring
			kubectl bootstrap create --flavor k3s --ttl never --print-join-command

			# The rke2 agent config.yaml, joining through a load balancer
			kubectl bootstrap create --flavor rke2 --print-join-command --join-server https://rke2.example.com:9345

			# A control-plane join, with the key from kubeadm init phase upload-certs --upload-certs
			kubectl bootstrap create --print-join-command --control-plane --certificate-key "$KEY"

			# The join material as JSON, for automation
			kubectl bootstrap create --print-join-command -o json

			# A secure K10 token whose CA hash comes from the server's /cacerts
			kubectl bootstrap create -o secure --cacerts-url https://k3s.example.com:6443/cacerts

			# A given token with a description and an extra group, into a file
			kubectl bootstrap generate | kubectl bootstrap create - --description "rack 7" --groups system:bootstrappers:rack7 --output-file token.txt

			# Show what would be created without sending anything
			kubectl bootstrap create --dry-run=client -o yaml`),
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              cli.RunE(o),
	}
	o.AddFlags(cmd)
	return cmd
}

// AddFlags binds create's flags.
func (o *CreateOptions) AddFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&o.TTL, "ttl", o.TTL, ttlHelp)
	fl.StringVar(&o.Description, "description", "", "A human friendly description of how this token is used.")
	fl.StringSliceVar(&o.Groups, "groups", nil, "Extra groups that this token authenticates as (default: the flavor's system:bootstrappers:<flavor>:default-node-token). Each must match "+`\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z`+".")
	fl.StringSliceVar(&o.Usages, "usages", o.Usages, "The ways this token can be used: signing (the cluster-info signature kubeadm join checks), authentication (to the API server).")
	fl.StringVar(&o.Flavor, "flavor", "", "The distribution the token is for: kubeadm, k3s or rke2 (default: detected from the server version).")
	fl.BoolVar(&o.PrintJoinCommand, "print-join-command", false, "Instead of the token, print what a new node runs to join: kubeadm join, the k3s install line, or the rke2 agent config.yaml.")
	fl.StringVar(&o.JoinServer, "join-server", "", "With --print-join-command, the address nodes join, e.g. https://lb.example.com:6443 (default: the kubeconfig's server; port 9345 for rke2).")
	fl.StringVar(&o.CAFile, "ca-file", "", "The cluster CA (PEM) for the K10 hash and kubeadm's discovery hash (default: the kubeconfig's CA).")
	fl.StringVar(&o.CACertsURL, "cacerts-url", "", "Take the CA for the K10 hash from a k3s/rke2 server's /cacerts, e.g. https://server:6443/cacerts (k3s) or :9345 (rke2); it must validate that server's certificate.")
	fl.StringVar(&o.CertificateKey, "certificate-key", "", "With --print-join-command (kubeadm), print a control-plane join with this key from 'kubeadm init phase upload-certs --upload-certs'; it is checked against kube-system/kubeadm-certs.")
	fl.BoolVar(&o.ControlPlane, "control-plane", false, "With --print-join-command and --certificate-key, print a join for a new control-plane node (--certificate-key alone implies it, as in kubeadm).")
	fl.BoolVar(&o.Reuse, "reuse", false, "Print an existing token with the same usages, groups and description that lives at least --ttl from now instead of creating one (a new one when there is none); stderr says which.")
	dryrun.AddFlag(cmd, &o.DryRun, "created")
	o.File.addFlags(cmd)
	o.Print.AddFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("flavor", flagValues(string(FlavorKubeadm), string(FlavorK3s), string(FlavorRKE2)))
	_ = cmd.RegisterFlagCompletionFunc("usages", flagValues(UsageSigning, UsageAuthentication, UsageSigning+","+UsageAuthentication))
	_ = cmd.RegisterFlagCompletionFunc("ttl", flagValues("24h", "1h", "7d", ttl.Never))
	_ = cmd.MarkFlagFilename("ca-file", "crt", "pem")
}

// Complete resolves what Run needs: the client, the token (given or
// generated), the TTL, and the flavor when given (else whether to detect
// it).
func (o *CreateOptions) Complete(cmd *cobra.Command, args []string) error {
	var err error
	if o.core, err = o.f.CoreV1(); err != nil {
		return err
	}
	if o.ttl, err = ttl.Parse("--ttl", o.TTL); err != nil {
		return err
	}
	o.groupsSet = cmd.Flags().Changed("groups")
	if len(o.Groups) == 1 && o.Groups[0] == "" {
		o.Groups = nil // --groups "" means none
	}
	if o.Flavor != "" {
		if o.flavor, err = ParseFlavor(o.Flavor); err != nil {
			return err
		}
	} else {
		o.detect = o.DryRun != dryrun.Client
	}
	value := ""
	o.given = len(args) == 1
	if o.given {
		if value, err = readTokenArg(args[0], o.In); err != nil {
			return err
		}
	} else if value, err = bootstraputil.GenerateBootstrapToken(); err != nil {
		return fmt.Errorf("cannot generate a token: %w", err)
	}
	p, err := ParseToken(value, "the TOKEN argument", tokenOnly)
	if err != nil {
		return err
	}
	o.token = &Token{ID: p.ID, Secret: p.Secret}
	return nil
}

// Validate checks every input before anything is sent or written.
func (o *CreateOptions) Validate() error {
	if err := checkNamespace(o.f); err != nil {
		return err
	}
	if err := o.Print.Validate(); err != nil {
		return err
	}
	out := o.Print.Output()
	if o.PrintJoinCommand && out == outputSecure {
		return fmt.Errorf("--print-join-command prints a command, not -o %s: drop one of them (-o json|yaml gives the join material)", out)
	}
	if o.JoinServer != "" {
		if !o.PrintJoinCommand {
			return errors.New("--join-server is the address in the join command: add --print-join-command or drop --join-server")
		}
		if _, err := JoinAddress(o.JoinServer, "--join-server", FlavorKubeadm); err != nil {
			return err
		}
	}
	if o.CertificateKey != "" {
		if !o.PrintJoinCommand {
			return errors.New("cannot use --certificate-key without --print-join-command: add --print-join-command")
		}
		var err error
		if o.certKey, err = ParseCertificateKey(o.CertificateKey); err != nil {
			return err
		}
		if o.flavor != "" && o.flavor != FlavorKubeadm {
			return fmt.Errorf("--certificate-key is for kubeadm control-plane joins, not --flavor %s: drop it", o.flavor)
		}
	}
	if o.ControlPlane && o.CertificateKey == "" {
		return fmt.Errorf("--control-plane needs --certificate-key: a new control-plane node decrypts the uploaded certificates with it; run '%s' on a control-plane node for one", UploadCertsCommand)
	}
	if o.CertificateKey != "" && !slices.Contains(o.Usages, UsageAuthentication) {
		return errors.New("a control-plane join authenticates with the token: add authentication to --usages")
	}
	if o.CertificateKey != "" && o.groupsSet && !slices.Contains(o.Groups, KubeadmCertsGroup) {
		return fmt.Errorf("a control-plane join needs group %s, which may read kube-system/%s (Role kubeadm:kubeadm-certs): add it to --groups", KubeadmCertsGroup, CertsSecretName)
	}
	if o.CAFile != "" && o.CACertsURL != "" {
		return errors.New("--ca-file and --cacerts-url both name the CA: pass only one")
	}
	if o.CACertsURL != "" {
		if _, err := CACertsURL(o.CACertsURL); err != nil {
			return err
		}
	}
	if err := dryrun.Validate(o.DryRun); err != nil {
		return err
	}
	if len(o.Usages) == 0 || (len(o.Usages) == 1 && o.Usages[0] == "") {
		return errors.New(`--usages is empty: a token without usages can neither authenticate nor sign cluster-info; pass signing, authentication or both`)
	}
	if err := ValidateUsagesAndGroups(o.Usages, o.Groups); err != nil {
		return err
	}
	if o.Reuse && o.given {
		return errors.New("--reuse hands out an existing token, not the TOKEN given: drop one of them")
	}
	return o.File.check()
}

// Run creates the token and prints it (or the join command).
func (o *CreateOptions) Run(ctx context.Context) error {
	flavor, note, err := o.resolveFlavor(ctx)
	if err != nil {
		return err
	}
	if o.CertificateKey != "" && flavor != FlavorKubeadm {
		return fmt.Errorf("--certificate-key is for kubeadm control-plane joins, and this cluster is %s: drop it", flavor)
	}
	t := o.newToken(flavor)
	var reused bool
	if o.Reuse {
		found, err := o.reusable(ctx, t)
		if err != nil {
			return err
		}
		if found != nil {
			t, reused = found, true
		}
	}

	// Everything that can fail without the cluster is done before the
	// Secret exists, so a bad CA or address leaves nothing behind.
	output, warnings, err := o.render(ctx, t, flavor)
	if err != nil {
		return err
	}

	secret := ToSecret(t)
	if !reused && o.DryRun != dryrun.Client {
		opts := metav1.CreateOptions{FieldManager: "kubectl-bootstrap", DryRun: dryrun.Request(o.DryRun)}
		if _, err := o.core.Secrets(Namespace).Create(ctx, secret, opts); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return apierror.Explained(err, "a token with id %q already exists: pass another token, or delete it first with %s", t.ID, hint(o.f, "delete", t.ID))
			}
			return apierror.Wrap(err, secretOp("create", t.ID))
		}
	}

	if err := o.File.write(o.Out, output); err != nil {
		if o.DryRun == dryrun.None && !reused {
			// No token without its file: the caller asked for the file.
			delErr := o.core.Secrets(Namespace).Delete(context.WithoutCancel(ctx), secret.Name, metav1.DeleteOptions{})
			if delErr != nil {
				return fmt.Errorf("%w; bootstrap token %q was created but could not be removed (%s): delete it with %s", err, t.ID, apierror.OneLine(apierror.Wrap(delErr, secretOp("delete", t.ID)).Error()), hint(o.f, "delete", t.ID))
			}
			return fmt.Errorf("%w; bootstrap token %q was removed again", err, t.ID)
		}
		return err
	}
	if note != "" {
		fmt.Fprintln(o.ErrOut, note)
	}
	for _, w := range warnings {
		fmt.Fprintln(o.ErrOut, w)
	}
	switch {
	case reused:
		until := "it never expires"
		if t.Expires != nil {
			until = "it is valid until " + ExpiresString(t)
		}
		fmt.Fprintf(o.ErrOut, "bootstrap token %q reused: %s and has the same usages, groups and description (nothing was created)\n", t.ID, until)
	case o.Reuse:
		fmt.Fprintf(o.ErrOut, "no bootstrap token with the same usages, groups and description that lives at least --ttl %s to reuse: bootstrap token %q created%s\n", o.TTL, t.ID, dryrun.Suffix(o.DryRun))
	}
	switch {
	case reused:
	case o.DryRun == dryrun.Client:
		fmt.Fprintf(o.ErrOut, "bootstrap token %q created%s: nothing was sent to the API server; Secret %s/%s of type %s would hold it\n", t.ID, dryrun.Suffix(o.DryRun), Namespace, secret.Name, TokenSecretType)
	case o.DryRun == dryrun.Server:
		fmt.Fprintf(o.ErrOut, "bootstrap token %q created%s: the server accepted Secret %s/%s but stored nothing\n", t.ID, dryrun.Suffix(o.DryRun), Namespace, secret.Name)
	}
	if o.File.Path != "" {
		fmt.Fprintf(o.ErrOut, "bootstrap token %q written to %s\n", t.ID, o.File.Path)
	}
	return nil
}

// reusable is the existing token --reuse hands out instead of want: well
// formed, of the right type, not being deleted, with want's usages, groups
// and description, and living at least as long as want would (--ttl from
// now; never-expiring for --ttl never): a reuse must not hand out a token
// about to expire. The one that lasts longest; nil when there is none.
func (o *CreateOptions) reusable(ctx context.Context, want *Token) (*Token, error) {
	secrets, err := listTokenSecrets(ctx, o.core, cli.DefaultChunkSize)
	if err != nil {
		return nil, err
	}
	var best *Token
	for i := range secrets {
		s := &secrets[i]
		t, err := FromSecret(s)
		if err != nil || s.Type != TokenSecretType || s.DeletionTimestamp != nil || !livesAsLong(t, want) ||
			!slices.Equal(t.Usages, want.Usages) || !slices.Equal(t.Groups, want.Groups) || t.Description != want.Description {
			continue
		}
		if best == nil || (best.Expires != nil && (t.Expires == nil || t.Expires.After(*best.Expires))) {
			best = t
		}
	}
	return best, nil
}

// livesAsLong tells whether t expires no earlier than want (nil: never).
func livesAsLong(t, want *Token) bool {
	switch {
	case t.Expires == nil:
		return true
	case want.Expires == nil:
		return false
	}
	return !t.Expires.Before(*want.Expires)
}

// resolveFlavor is --flavor, else the server's (one GET /version), else
// kubeadm for a client dry run, which sends nothing. note says how it was
// decided when that is worth saying: a detected k3s or rke2, or any
// guess behind a join command.
func (o *CreateOptions) resolveFlavor(ctx context.Context) (Flavor, string, error) {
	switch {
	case o.flavor != "":
		return o.flavor, "", nil
	case !o.detect:
		return FlavorKubeadm, "flavor kubeadm assumed: a client dry run sends nothing, not even GET /version (pass --flavor to choose)", nil
	}
	f, how, err := DetectFlavor(ctx, o.f)
	if err != nil {
		return "", "", err
	}
	if f == FlavorKubeadm && !o.PrintJoinCommand {
		how = ""
	}
	return f, how, nil
}

// newToken is the token to create for flavor: the flags applied to the
// given or generated id and secret.
func (o *CreateOptions) newToken(flavor Flavor) *Token {
	t := &Token{ID: o.token.ID, Secret: o.token.Secret, Description: o.Description}
	if !o.ttl.Never {
		t.Expires = ExpiresAfter(o.ttl.Duration, now())
	}
	// Sorted as kubeadm reads them back; the Secret has one key per usage
	// whatever the order.
	t.Usages = slices.Clone(o.Usages)
	slices.Sort(t.Usages)
	t.Usages = slices.Compact(t.Usages)
	t.Groups = o.Groups
	if !o.groupsSet && t.Has(UsageAuthentication) {
		t.Groups = []string{flavor.DefaultGroup()}
	}
	return t
}

// render produces what create prints, and warnings about it: the join
// material, or the token in the -o format (for k3s and rke2 the secure
// form unless -o token).
func (o *CreateOptions) render(ctx context.Context, t *Token, flavor Flavor) ([]byte, []string, error) {
	if o.PrintJoinCommand {
		return o.joinCommand(ctx, t, flavor)
	}
	out := o.Print.Output()
	if out == "" && flavor != FlavorKubeadm {
		out = outputSecure
	}
	switch out {
	case "", outputToken:
		return []byte(t.String() + "\n"), nil, nil
	case outputSecure:
		ca, err := loadCA(ctx, o.f, o.CAFile, o.CACertsURL)
		if err != nil {
			return nil, nil, err
		}
		hash, err := K10CAHash(ca.PEM)
		if err != nil {
			return nil, nil, fmt.Errorf("the CA from %s: %w", ca.From, err)
		}
		return []byte(SecureToken(hash, t.String()) + "\n"), nil, nil
	default:
		var buf bytes.Buffer
		if err := o.Print.Print(NewOutputToken(t, showSecret), printer.WithoutNamespace, &buf); err != nil {
			return nil, nil, err
		}
		return buf.Bytes(), nil, nil
	}
}

// joinCommand renders the flavor's join material for t: the command
// line (or rke2 config.yaml), or with -o json|yaml the material itself.
func (o *CreateOptions) joinCommand(ctx context.Context, t *Token, flavor Flavor) ([]byte, []string, error) {
	m, warnings, err := o.joinMaterial(ctx, t, flavor)
	if err != nil {
		return nil, nil, err
	}
	if out := o.Print.Output(); out != "" && out != outputToken {
		var buf bytes.Buffer
		if err := o.Print.Print(m, printer.WithoutNamespace, &buf); err != nil {
			return nil, nil, err
		}
		return buf.Bytes(), warnings, nil
	}
	switch flavor {
	case FlavorK3s:
		line, err := K3sJoinLine(m.Endpoint, m.SecureToken)
		return []byte(line + "\n"), warnings, err
	case FlavorRKE2:
		cfg, err := RKE2Config(m.Endpoint, m.SecureToken)
		return []byte(cfg), warnings, err
	default:
		line, err := KubeadmJoinLine(m.Endpoint, m.Token, m.CACertHashes, strings.ToLower(o.CertificateKey))
		return []byte(line + "\n"), warnings, err
	}
}

// joinMaterial is what a node of flavor needs to join with t, and
// warnings about its address.
func (o *CreateOptions) joinMaterial(ctx context.Context, t *Token, flavor Flavor) (*JoinMaterial, []string, error) {
	lookup := o.DryRun != dryrun.Client // a client dry run sends nothing
	address, note, err := joinEndpoint(ctx, o.f, o.core, o.JoinServer, flavor, lookup)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	if note != "" {
		warnings = append(warnings, note)
	}
	if w := LoopbackWarning(address); w != "" {
		warnings = append(warnings, w)
	}
	if o.CertificateKey != "" && lookup {
		certs, err := checkControlPlaneCerts(ctx, o.core, o.certKey, now())
		if err != nil {
			return nil, nil, err
		}
		if n := certs.note(o.f); n != "" {
			warnings = append(warnings, n)
		}
	}
	ca, err := loadCA(ctx, o.f, o.CAFile, o.CACertsURL)
	if err != nil {
		return nil, nil, err
	}
	m := NewJoinMaterial(flavor, address, t.String())
	switch flavor {
	case FlavorK3s, FlavorRKE2:
		hash, err := K10CAHash(ca.PEM)
		if err != nil {
			return nil, nil, fmt.Errorf("the CA from %s: %w", ca.From, err)
		}
		m.SecureToken = SecureToken(hash, t.String())
		m.Command = AgentArgv(flavor, address, m.SecureToken)
	default:
		if m.CACertHashes, err = DiscoveryHashes(ca.PEM); err != nil {
			return nil, nil, fmt.Errorf("the CA from %s: %w", ca.From, err)
		}
		m.Command = KubeadmJoinArgv(address, t.String(), m.CACertHashes, strings.ToLower(o.CertificateKey))
	}
	return m, warnings, nil
}
