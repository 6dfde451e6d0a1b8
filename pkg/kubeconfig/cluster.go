// Package kubeconfig reads what the plugins print or embed about the
// cluster the kubeconfig names: its server and its CA. Written once for
// the three plugins, on client-go's certutil.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package kubeconfig

import (
	"fmt"
	"net"
	"net/url"
	"os"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
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

// CAError is why the kubeconfig cluster's CA cannot be used: the cause
// alone. Each command words its own remedy, since each has its own way to
// give another CA (--ca-file, --api-server-ca-file, a full token).
type CAError struct {
	Where   string // the cluster in messages (Cluster.Where)
	Missing bool   // the kubeconfig names no CA at all
	Cause   string // "has no certificate-authority", ...
}

func (e *CAError) Error() string { return e.Where + " " + e.Cause }

// CA is the cluster's CA: its certificate-authority-data bytes, else the
// certificate-authority file. Both must hold at least one PEM certificate;
// the error is a *CAError.
func (c Cluster) CA() (CABundle, error) {
	where := c.Where()
	switch {
	case len(c.CAData) > 0:
		if _, err := certutil.ParseCertsPEM(c.CAData); err != nil {
			return CABundle{}, &CAError{Where: where, Cause: "has certificate-authority-data that holds no PEM certificate"}
		}
		return CABundle{PEM: c.CAData, From: where + " (certificate-authority-data)"}, nil
	case c.CAFile != "":
		b, err := os.ReadFile(c.CAFile)
		if err != nil {
			return CABundle{}, &CAError{Where: where, Cause: fmt.Sprintf("has certificate-authority %s, which cannot be read: %s", c.CAFile, apierror.PathCause(err))}
		}
		if _, err := certutil.ParseCertsPEM(b); err != nil {
			return CABundle{}, &CAError{Where: where, Cause: fmt.Sprintf("has certificate-authority %s, which holds no PEM certificate (%s)", c.CAFile, apierror.OneLine(err.Error()))}
		}
		return CABundle{PEM: b, From: where + " (certificate-authority " + c.CAFile + ")"}, nil
	default:
		return CABundle{}, &CAError{Where: where, Missing: true, Cause: "has no certificate-authority"}
	}
}

// ReadCAFile reads a PEM CA bundle that the user named with flag (for
// messages, whose remedy is about that flag's value).
func ReadCAFile(path, flag string) (CABundle, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return CABundle{}, fmt.Errorf("cannot read %s %s: %w; pass the cluster CA certificate (PEM)", flag, path, apierror.PathCause(err))
	}
	if _, err := certutil.ParseCertsPEM(b); err != nil {
		return CABundle{}, fmt.Errorf("%s %s holds no PEM certificate (%s); pass the cluster CA certificate, e.g. /etc/kubernetes/pki/ca.crt or server-ca.crt", flag, path, apierror.OneLine(err.Error()))
	}
	return CABundle{PEM: b, From: flag + " " + path}, nil
}

// IsLoopback tells whether a server address (a URL, host:port or a bare
// host) is a loopback one (localhost, 127.0.0.0/8, ::1): fine for the
// kubeconfig on this machine, unreachable from any other, as in a k3s.yaml
// copied verbatim.
func IsLoopback(address string) bool {
	host := address
	if u, err := url.Parse(address); err == nil && u.Host != "" {
		host = u.Hostname()
	} else if h, _, err := net.SplitHostPort(address); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
