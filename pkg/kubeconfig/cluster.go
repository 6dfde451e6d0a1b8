// Package kubeconfig reads what the plugins print or embed about the
// cluster the kubeconfig names: its server and its CA. Written once for
// the three plugins, on client-go's certutil.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package kubeconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"
)

// Cluster is the kubeconfig cluster the connection flags select, flags
// applied (--server, --certificate-authority, --context, --cluster).
type Cluster struct {
	Context  string // the kubeconfig context name, "" when none is selected
	Server   string
	CAData   []byte // certificate-authority-data, as found
	CAFile   string // certificate-authority, when no data is embedded
	Insecure bool   // insecure-skip-tls-verify
}

// FromAPI copies what we use out of a kubeconfig cluster entry.
func FromAPI(contextName string, c *clientcmdapi.Cluster) Cluster {
	if c == nil {
		return Cluster{Context: contextName}
	}
	return Cluster{
		Context:  contextName,
		Server:   c.Server,
		CAData:   c.CertificateAuthorityData,
		CAFile:   c.CertificateAuthority,
		Insecure: c.InsecureSkipTLSVerify,
	}
}

// Where names the cluster in messages.
func (c Cluster) Where() string {
	if c.Context == "" {
		return "the kubeconfig"
	}
	return fmt.Sprintf("the kubeconfig's context %q", c.Context)
}

// HasCA tells whether the kubeconfig names a CA at all.
func (c Cluster) HasCA() bool { return len(c.CAData) > 0 || c.CAFile != "" }

// CABundle is PEM CA bytes exactly as found, and where they came from (for
// messages): a hash over a certificate depends on every byte.
type CABundle struct {
	PEM  []byte
	From string
}

// CA is the cluster's CA: its certificate-authority-data bytes, else the
// certificate-authority file. Both must hold at least one PEM certificate.
func (c Cluster) CA() (CABundle, error) {
	where := c.Where()
	switch {
	case len(c.CAData) > 0:
		if _, err := certutil.ParseCertsPEM(c.CAData); err != nil {
			return CABundle{}, fmt.Errorf("%s has certificate-authority-data that holds no PEM certificate; fix the kubeconfig or pass --ca-file", where)
		}
		return CABundle{PEM: c.CAData, From: where + " (certificate-authority-data)"}, nil
	case c.CAFile != "":
		b, err := ReadCAFile(c.CAFile, "certificate-authority")
		if err != nil {
			return CABundle{}, fmt.Errorf("%s: %w", where, err)
		}
		b.From = where + " (certificate-authority " + c.CAFile + ")"
		return b, nil
	default:
		return CABundle{}, fmt.Errorf("%s has no certificate-authority: pass --ca-file with the cluster CA", where)
	}
}

// ReadCAFile reads a PEM CA bundle named by flag (for messages).
func ReadCAFile(path, flag string) (CABundle, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return CABundle{}, fmt.Errorf("cannot read %s %s: %w; pass the cluster CA certificate (PEM)", flag, path, err)
	}
	if _, err := certutil.ParseCertsPEM(b); err != nil {
		return CABundle{}, fmt.Errorf("%s %s holds no PEM certificate (%s); pass the cluster CA certificate, e.g. /etc/kubernetes/pki/ca.crt or server-ca.crt", flag, path, strings.Join(strings.Fields(err.Error()), " "))
	}
	return CABundle{PEM: b, From: flag + " " + path}, nil
}
