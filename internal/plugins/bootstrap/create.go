package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/internal/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/internal/cli"
	"github.com/kubectl-tokens/kubectl-tokens/internal/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/internal/kubeconfig"
	"github.com/kubectl-tokens/kubectl-tokens/internal/printer"
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
	TTL              ttlValue
	Description      string
	Groups           []string
	Usages           []string
	Flavor           string
	PrintJoinCommand bool
	JoinServer       string
	CAFile           string
	CACertsURL       string
	CertificateKey   string
	DryRun           string
	File             outputFile

	tokenArg  string
	groupsSet bool
	// notes go to stderr only once the token exists: a failure is one line.
	notes  []string
	token  *Token
	flavor Flavor
}

// NewCreateOptions has kubeadm's defaults: 24h, signing+authentication.
func NewCreateOptions(f cli.Clients, streams genericiooptions.IOStreams) *CreateOptions {
	return &CreateOptions{
		IOStreams: streams,
		f:         f,
		Print:     printer.NewFlags(printer.NoTable, outputToken, outputSecure),
		TTL:       ttlValue{d: 24 * time.Hour},
		Usages:    slices.Clone(DefaultUsages),
		DryRun:    dryrun.None,
	}
}

// NewCmdCreate builds kubectl bootstrap create.
func NewCmdCreate(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewCreateOptions(f, streams)
	cmd := &cobra.Command{
		Use:   "create [TOKEN | -]",
		Short: "Create a bootstrap token, exactly as kubeadm token create does",
		Long: templates.LongDesc(`
			Create a bootstrap token: a Secret bootstrap-token-{id} of type
			bootstrap.kubernetes.io/token in kube-system, written exactly as
			kubeadm's own code writes it, so kubeadm, k3s and rke2 see it as
			theirs.

			Without TOKEN a random one is generated; "-" reads it from standard
			input. The token is printed as id.secret, or with -o secure in the k3s
			secure form K10{CA hash}::id.secret, whose hash lets a joining node
			verify the cluster (sha256 of the CA PEM exactly as given, or of the
			root's DER for a bundle). The CA comes from the kubeconfig, --ca-file,
			or a k3s/rke2 server's /cacerts (--cacerts-url), which is only trusted
			when it validates that server's own TLS certificate.

			--print-join-command prints, instead of the token, what a new node
			runs: "kubeadm join" with the discovery hash of every CA certificate
			(as kubeadm token create --print-join-command), the k3s install line,
			or the rke2 agent config.yaml. The flavor is --flavor, else detected
			from the server's version (+k3s, +rke2) and said on stderr. The join
			address is the API server's (kubeconfig or --server; port 9345 for
			rke2) unless --join-server is given.

			Extra groups default to the flavor's own
			(system:bootstrappers:{flavor}:default-node-token) and are left out
			when --usages lacks authentication.`),
		Example: templates.Examples(`
			# Create a token valid for 24 hours and print it
			kubectl bootstrap create

			# Print the kubeadm join command for a new worker
			kubectl bootstrap create --print-join-command

			# A k3s agent join line, the token never expiring
			kubectl bootstrap create --flavor k3s --ttl 0 --print-join-command

			# The rke2 agent config.yaml, joining through a load balancer
			kubectl bootstrap create --flavor rke2 --print-join-command --join-server https://rke2.example.com:9345

			# A secure K10 token whose CA hash comes from the server's /cacerts
			kubectl bootstrap create -o secure --cacerts-url https://k3s.example.com:6443/cacerts

			# A given token with a description and an extra group, into a file
			kubectl bootstrap generate | kubectl bootstrap create - --description "rack 7" --groups system:bootstrappers:rack7 --output-file token.txt

			# Show what would be created without sending anything
			kubectl bootstrap create --dry-run=client -o yaml`),
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: cli.RunE(o),
	}
	o.AddFlags(cmd)
	return cmd
}

// AddFlags binds create's flags.
func (o *CreateOptions) AddFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.Var(&o.TTL, "ttl", "The duration before the token expires (e.g. 30m, 2h, 24h0m0s). 0 means it never expires.")
	fl.StringVar(&o.Description, "description", "", "A human friendly description of how this token is used.")
	fl.StringSliceVar(&o.Groups, "groups", nil, "Extra groups that this token authenticates as (default: the flavor's system:bootstrappers:<flavor>:default-node-token). Each must match "+`\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z`+".")
	fl.StringSliceVar(&o.Usages, "usages", o.Usages, "The ways this token can be used: signing (the cluster-info signature kubeadm join checks), authentication (to the API server).")
	fl.StringVar(&o.Flavor, "flavor", "", "The distribution the token is for: kubeadm, k3s or rke2 (default: detected from the server version with --print-join-command, else kubeadm).")
	fl.BoolVar(&o.PrintJoinCommand, "print-join-command", false, "Instead of the token, print what a new node runs to join: kubeadm join, the k3s install line, or the rke2 agent config.yaml.")
	fl.StringVar(&o.JoinServer, "join-server", "", "The address nodes join, e.g. https://lb.example.com:6443 (default: the API server's; port 9345 for rke2).")
	fl.StringVar(&o.CAFile, "ca-file", "", "The cluster CA (PEM) for the K10 hash and kubeadm's discovery hash (default: the kubeconfig's CA).")
	fl.StringVar(&o.CACertsURL, "cacerts-url", "", "Take the CA for the K10 hash from a k3s/rke2 server's /cacerts, e.g. https://server:6443/cacerts (k3s) or :9345 (rke2); it must validate that server's certificate.")
	fl.StringVar(&o.CertificateKey, "certificate-key", "", "With --print-join-command (kubeadm), print a control-plane join with this key from 'kubeadm init phase upload-certs --upload-certs'.")
	dryrun.AddFlag(cmd, &o.DryRun, "created")
	o.File.addFlags(cmd)
	o.Print.AddFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("flavor", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{string(FlavorKubeadm), string(FlavorK3s), string(FlavorRKE2)}, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("usages", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{UsageSigning, UsageAuthentication, UsageSigning + "," + UsageAuthentication}, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.MarkFlagFilename("ca-file", "crt", "pem")
}

// Complete reads the token argument (or generates one).
func (o *CreateOptions) Complete(cmd *cobra.Command, args []string) error {
	o.groupsSet = cmd.Flags().Changed("groups")
	if len(args) == 1 {
		s, err := readTokenArg(args[0], o.In)
		if err != nil {
			return err
		}
		o.tokenArg = s
	}
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
	if out == "name" || out == "kyaml" {
		return fmt.Errorf("-o %s is not supported here: use token, secure, json or yaml", out)
	}
	if o.PrintJoinCommand && out != "" && out != outputToken {
		return fmt.Errorf("--print-join-command prints a command, not -o %s: drop one of them", out)
	}
	if o.CertificateKey != "" {
		if !o.PrintJoinCommand {
			return errors.New("cannot use --certificate-key without --print-join-command: add --print-join-command")
		}
		if !isLowerHex(strings.ToLower(o.CertificateKey), 64) {
			return errors.New("--certificate-key must be 64 hex digits: take it from 'kubeadm init phase upload-certs --upload-certs'")
		}
	}
	if o.CAFile != "" && o.CACertsURL != "" {
		return errors.New("--ca-file and --cacerts-url both name the CA: pass only one")
	}
	if o.CACertsURL != "" {
		if _, err := CACertsURL(o.CACertsURL); err != nil {
			return err
		}
	}
	if o.JoinServer != "" {
		if err := validateJoinServer(o.JoinServer); err != nil {
			return err
		}
	}
	if o.Flavor != "" {
		f, err := ParseFlavor(o.Flavor)
		if err != nil {
			return err
		}
		o.flavor = f
		if o.CertificateKey != "" && f != FlavorKubeadm {
			return fmt.Errorf("--certificate-key is for kubeadm control-plane joins, not --flavor %s: drop it", f)
		}
	}
	if err := dryrun.Validate(o.DryRun); err != nil {
		return err
	}
	if len(o.Groups) == 1 && o.Groups[0] == "" {
		o.Groups = nil // --groups "" means none
	}
	if err := ValidateUsagesAndGroups(o.Usages, o.Groups); err != nil {
		return err
	}
	if o.tokenArg != "" {
		p, err := ParseToken(o.tokenArg, "the TOKEN argument", false)
		if err != nil {
			return err
		}
		o.token = &Token{ID: p.ID, Secret: p.Secret}
	}
	return o.File.check()
}

func validateJoinServer(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https") {
		return fmt.Errorf("--join-server %q is not a URL like https://host:6443: pass the https address nodes reach the cluster at", s)
	}
	return nil
}

// Run creates the token and prints it (or the join command).
func (o *CreateOptions) Run(ctx context.Context) error {
	core, err := o.f.CoreV1()
	if err != nil {
		return err
	}
	if o.token == nil {
		s, err := bootstraputil.GenerateBootstrapToken()
		if err != nil {
			return fmt.Errorf("cannot generate a token: %v", err)
		}
		p, _ := ParseToken(s, "the generated token", false)
		o.token = &Token{ID: p.ID, Secret: p.Secret}
	}
	if o.flavor == "" {
		o.flavor = FlavorKubeadm
		switch {
		case o.PrintJoinCommand && o.DryRun == dryrun.Client:
			o.notes = append(o.notes, "flavor kubeadm assumed: a client dry run sends nothing, not even GET /version (pass --flavor to choose)")
		case o.PrintJoinCommand:
			f, how, err := DetectFlavor(ctx, core.RESTClient())
			if err != nil {
				return err
			}
			o.flavor = f
			o.notes = append(o.notes, how)
		}
	}
	t := o.token
	t.Description = o.Description
	t.Expires = ExpiresAfter(o.TTL.d, now())
	// Sorted as kubeadm reads them back; the Secret has one key per usage
	// whatever the order.
	t.Usages = slices.Clone(o.Usages)
	slices.Sort(t.Usages)
	t.Usages = slices.Compact(t.Usages)
	t.Groups = o.Groups
	if !o.groupsSet && t.Has(UsageAuthentication) {
		t.Groups = []string{o.flavor.DefaultGroup()}
	}

	// Everything that can fail without the cluster is done before the
	// Secret exists, so a bad CA or address leaves nothing behind.
	output, err := o.render(ctx, t)
	if err != nil {
		return err
	}

	secret := ToSecret(t)
	switch o.DryRun {
	case dryrun.Client:
	default:
		opts := metav1.CreateOptions{FieldManager: "kubectl-bootstrap"}
		if o.DryRun == dryrun.Server {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		if _, err := core.Secrets(Namespace).Create(ctx, secret, opts); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("a token with id %q already exists: pass another token, or delete it first with kubectl bootstrap delete %s", t.ID, t.ID)
			}
			return apierror.Wrap(err, secretOp("create", t.ID))
		}
	}

	if err := o.File.write(o.Out, output); err != nil {
		if o.DryRun == dryrun.None {
			// No token without its file: the caller asked for the file.
			delErr := core.Secrets(Namespace).Delete(context.WithoutCancel(ctx), secret.Name, metav1.DeleteOptions{})
			if delErr != nil {
				return fmt.Errorf("%v; bootstrap token %q was created but could not be removed (%s): delete it with kubectl bootstrap delete %s", err, t.ID, apierror.OneLine(apierror.Wrap(delErr, secretOp("delete", t.ID)).Error()), t.ID)
			}
			return fmt.Errorf("%v; bootstrap token %q was removed again", err, t.ID)
		}
		return err
	}
	for _, n := range o.notes {
		fmt.Fprintln(o.ErrOut, n)
	}
	switch o.DryRun {
	case dryrun.Client:
		fmt.Fprintf(o.ErrOut, "bootstrap token %q not created (dry run): nothing was sent to the API server; Secret %s/%s of type %s would hold it\n", t.ID, Namespace, secret.Name, TokenSecretType)
	case dryrun.Server:
		fmt.Fprintf(o.ErrOut, "bootstrap token %q not created (server dry run): the server accepted Secret %s/%s but stored nothing\n", t.ID, Namespace, secret.Name)
	}
	if o.File.Path != "" {
		fmt.Fprintf(o.ErrOut, "bootstrap token %q written to %s\n", t.ID, o.File.Path)
	}
	return nil
}

// render produces what create prints: the join material, or the token in
// the -o format.
func (o *CreateOptions) render(ctx context.Context, t *Token) ([]byte, error) {
	out := o.Print.Output()
	if o.PrintJoinCommand {
		line, err := o.joinCommand(ctx, t)
		if err != nil {
			return nil, err
		}
		return []byte(line), nil
	}
	switch out {
	case "", outputToken:
		return []byte(t.String() + "\n"), nil
	case outputSecure:
		ca, err := loadCA(ctx, o.f, o.CAFile, o.CACertsURL)
		if err != nil {
			return nil, err
		}
		hash, err := K10CAHash(ca.PEM)
		if err != nil {
			return nil, fmt.Errorf("the CA from %s: %v", ca.From, err)
		}
		return []byte(SecureToken(hash, t.String()) + "\n"), nil
	default:
		var buf bytes.Buffer
		if err := o.Print.Print(NewOutputToken(t, true), false, &buf); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
}

// joinCommand builds the flavor's join material for t.
func (o *CreateOptions) joinCommand(ctx context.Context, t *Token) (string, error) {
	server := o.JoinServer
	if server == "" {
		s, err := joinAPIServer(o.f)
		if err != nil {
			return "", err
		}
		server = s
		if w := loopbackWarning(server); w != "" {
			o.notes = append(o.notes, w)
		}
	}
	ca, err := loadCA(ctx, o.f, o.CAFile, o.CACertsURL)
	if err != nil {
		return "", err
	}
	switch o.flavor {
	case FlavorK3s, FlavorRKE2:
		hash, err := K10CAHash(ca.PEM)
		if err != nil {
			return "", fmt.Errorf("the CA from %s: %v", ca.From, err)
		}
		joinURL := server
		if o.JoinServer == "" {
			if joinURL, err = SupervisorURL(server, o.flavor); err != nil {
				return "", err
			}
		}
		secure := SecureToken(hash, t.String())
		if o.flavor == FlavorK3s {
			line, err := K3sJoinLine(joinURL, secure)
			return line + "\n", err
		}
		return RKE2Config(joinURL, secure)
	default:
		hashes, err := DiscoveryHashes(ca.PEM)
		if err != nil {
			return "", fmt.Errorf("the CA from %s: %v", ca.From, err)
		}
		line, err := KubeadmJoinLine(KubeadmEndpoint(server), t.String(), hashes, strings.ToLower(o.CertificateKey))
		return line + "\n", err
	}
}

// joinCluster is the kubeconfig cluster kubeadm's join command is built
// from (server and CA): the unnamed cluster when the kubeconfig has one
// (kubeadm's rule), else the cluster the context (and --server, --cluster,
// --certificate-authority) select.
func joinCluster(f cli.Clients) (where string, cluster kubeconfig.Cluster, err error) {
	cluster, err = f.CurrentCluster()
	if err != nil {
		return "", cluster, err
	}
	if !clusterFlagsGiven(f) {
		if raw, err := f.Flags().ToRawKubeConfigLoader().RawConfig(); err == nil {
			if c, ok := raw.Clusters[""]; ok && c.Server != "" {
				unnamed := kubeconfig.FromAPI("", c)
				return "the kubeconfig's unnamed cluster", unnamed, nil
			}
		}
	}
	return cluster.Where(), cluster, nil
}

// joinAPIServer is joinCluster's server.
func joinAPIServer(f cli.Clients) (string, error) {
	where, cluster, err := joinCluster(f)
	if err != nil {
		return "", err
	}
	if cluster.Server == "" {
		return "", fmt.Errorf("%s names no server: pass --join-server https://HOST:PORT or --server", where)
	}
	return cluster.Server, nil
}

func clusterFlagsGiven(f cli.Clients) bool {
	cf := f.Flags()
	for _, p := range []*string{cf.Context, cf.ClusterName, cf.APIServer, cf.CAFile} {
		if p != nil && *p != "" {
			return true
		}
	}
	return false
}

// loadCA finds the CA bundle: --ca-file, --cacerts-url, else the
// kubeconfig's.
func loadCA(ctx context.Context, f cli.Clients, caFile, cacertsURL string) (kubeconfig.CABundle, error) {
	switch {
	case caFile != "":
		return kubeconfig.ReadCAFile(caFile, "--ca-file")
	case cacertsURL != "":
		return FetchCACerts(ctx, cacertsURL)
	}
	_, cluster, err := joinCluster(f)
	if err != nil {
		return kubeconfig.CABundle{}, err
	}
	return cluster.CA()
}

// loopbackWarning says when the join address is this machine's loopback
// (as in a k3s.yaml or rke2.yaml copied verbatim): a node elsewhere cannot
// reach it.
func loopbackWarning(server string) string {
	u, err := url.Parse(server)
	if err != nil {
		return ""
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return fmt.Sprintf("warning: the join address %s is a loopback address that other machines cannot reach: pass --join-server https://ADDRESS:PORT", u.Host)
	}
	return ""
}
