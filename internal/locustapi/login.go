package locustapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// LoginPath is where the component's plugin takes the web login's form
// (LOGIN_SUBMIT_PATH in components/locust_eks_worker.py).
const LoginPath = "/locust-eks/login"

// ErrLoginRequired: the master's web UI is behind a login (the stack's
// webLogin) and this client has not logged in, or its session ended (the
// master restarted).
var ErrLoginRequired = errors.New("the master's web UI asks for a login (the stack's webLogin): give its password in LOCUST_EKS_WEB_PASSWORD")

// ErrLoginRefused: the master did not take the username and password. It
// does not say which was wrong.
var ErrLoginRefused = errors.New("the master refused the login: wrong username or password")

// toLoginPage refuses to follow the master's redirect to its login page (a
// route that needs a session): the client reports ErrLoginRequired instead
// of reading the login page as an answer.
func toLoginPage(req *http.Request, _ []*http.Request) error {
	if strings.HasSuffix(req.URL.Path, "/login") {
		return ErrLoginRequired
	}
	return nil
}

// Login logs in to a master whose web UI is behind the component's login;
// the session cookie then goes with every request of the client.
func (c *Client) Login(ctx context.Context, username, password string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	form := url.Values{"username": {username}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+LoginPath, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// The answer is a redirect: to the UI on success, to the login page
	// on a refusal. Read it rather than follow it.
	noFollow := *c.http
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Do(req)
	if err != nil {
		return fmt.Errorf("logging in to the master at %s: %w", c.base, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("the master at %s has no %s: its web UI has no login (webLogin is off) or its pods do not load the component's plugin", c.base, LoginPath)
	case resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther:
		return fmt.Errorf("logging in to the master at %s: it answered %s", c.base, resp.Status)
	}
	to, err := resp.Location()
	if err != nil {
		return fmt.Errorf("logging in to the master at %s: %w", c.base, err)
	}
	if strings.HasSuffix(to.Path, "/login") {
		return ErrLoginRefused
	}
	return nil
}
