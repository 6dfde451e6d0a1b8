package bootstrap

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	certutil "k8s.io/client-go/util/cert"
)

// K10CAHash is the CA hash of a k3s/rke2 secure token, by k3s's rule: for
// one certificate, sha256 of the bytes exactly as given (PEM including any
// trailing newline, which is why the kubeconfig must embed server-ca.crt
// byte for byte); for a bundle, sha256 of the DER of the root that the
// first certificate verifies up to (roots are the later certificates with
// no authority key ID or one equal to their subject key ID), so renewing
// an intermediate keeps the hash; if that chain does not verify, sha256
// of the raw bytes.
func K10CAHash(bundle []byte) (string, error) {
	certs, err := certutil.ParseCertsPEM(bundle)
	if err != nil {
		return "", fmt.Errorf("no PEM certificate: %w", err)
	}
	hashed := bundle
	if len(certs) > 1 {
		roots, intermediates := x509.NewCertPool(), x509.NewCertPool()
		for _, c := range certs[1:] {
			if len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId) {
				roots.AddCert(c)
			} else {
				intermediates.AddCert(c)
			}
		}
		// Default options (now, server-auth usage) on purpose: the hash
		// must be the one a joining agent computes with the same rule.
		chains, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates})
		if err == nil && len(chains) > 0 {
			chain := chains[0]
			hashed = chain[len(chain)-1].Raw
		}
	}
	sum := sha256.Sum256(hashed)
	return hex.EncodeToString(sum[:]), nil
}

// SecureToken is the k3s secure form K10<hash>::id.secret.
func SecureToken(caHash, short string) string { return k10Prefix + caHash + "::" + short }

// DiscoveryHashes are kubeadm's --discovery-token-ca-cert-hash values:
// "sha256:" and the lowercase hex sha256 of each CA certificate's
// SubjectPublicKeyInfo, one per certificate in the bundle, in order.
func DiscoveryHashes(bundle []byte) ([]string, error) {
	certs, err := certutil.ParseCertsPEM(bundle)
	if err != nil {
		return nil, fmt.Errorf("no PEM certificate: %w", err)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	out := make([]string, 0, len(certs))
	for _, c := range certs {
		sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
		out = append(out, "sha256:"+hex.EncodeToString(sum[:]))
	}
	return out, nil
}
