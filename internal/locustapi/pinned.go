package locustapi

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
)

// PinCertificate makes the client accept only a master that presents this
// certificate (PEM, the chain's leaf first): the one the stack gave Locust
// to serve HTTPS with (its webTlsCertificate output). The client reaches
// the master through a port-forward, at 127.0.0.1, a name no certificate
// of the UI's address holds; so instead of a name and a chain the client
// checks the exact certificate, which is all the trust the stack asked for.
func (c *Client) PinCertificate(certPEM string) error {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return errors.New("the master's certificate is not a PEM CERTIFICATE")
	}
	want, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("the master's certificate: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verification is VerifyPeerCertificate's: the exact certificate.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			if len(rawCerts) == 0 || !bytes.Equal(rawCerts[0], want.Raw) {
				return fmt.Errorf("the master presented another certificate than the stack's webTlsCertificate (%s)", want.Subject)
			}
			return nil
		},
	}
	c.http.Transport = transport
	return nil
}
