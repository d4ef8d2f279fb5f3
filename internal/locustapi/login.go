package locustapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
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

// loginBusyTries is how many times Login asks a master that answers 429:
// its login takes a bounded number of attempts at once, and others' (or an
// attacker's) guesses may fill them for a few delays.
const loginBusyTries = 4

// maxLoginRetryAfter bounds the wait a 429's Retry-After asks for.
const maxLoginRetryAfter = 30 * time.Second

// Login logs in to a master whose web UI is behind the component's login;
// the session cookie then goes with every request of the client. When the
// login is busy (429), it waits as Retry-After says (RFC 9110, 10.2.3) and
// asks again, a few times.
func (c *Client) Login(ctx context.Context, username, password string) error {
	for try := 1; ; try++ {
		retryAfter, err := c.login(ctx, username, password)
		switch {
		case retryAfter == 0:
			return err
		case try == loginBusyTries:
			return fmt.Errorf("%w; asked %d times, try again in a minute", err, try)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; asked %d times, then %w while waiting %s to ask again", err, try, ctx.Err(), retryAfter)
		case <-time.After(retryAfter):
		}
	}
}

// loginTimeout bounds one login attempt. The plugin holds an attempt while
// its address's earlier ones take their turns: at most LOGIN_PER_ADDRESS
// (4) of them, each up to LOGIN_MAX_DELAY (8 s) plus a global turn (7.5 s
// at most), about 62 s.
const loginTimeout = 75 * time.Second

// login is one login attempt; a busy master's answer is an error with the
// wait it asks for before the next attempt, otherwise that wait is 0.
func (c *Client) login(ctx context.Context, username, password string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	form := url.Values{"username": {username}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+LoginPath, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// The answer is a redirect: to the UI on success, to the login page
	// on a refusal. Read it rather than follow it.
	noFollow := *c.http
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Do(req)
	if err != nil {
		return 0, fmt.Errorf("logging in to the master at %s: %w", c.base, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		wait := retryAfter(resp.Header.Get("Retry-After"))
		return wait, fmt.Errorf("logging in to the master at %s: its login is busy with other attempts (429)", c.base)
	case resp.StatusCode == http.StatusNotFound:
		return 0, fmt.Errorf("the master at %s has no %s: its web UI has no login (webLogin is off) or its pods do not load the component's plugin", c.base, LoginPath)
	case resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther:
		return 0, fmt.Errorf("logging in to the master at %s: it answered %s", c.base, resp.Status)
	}
	to, err := resp.Location()
	if err != nil {
		return 0, fmt.Errorf("logging in to the master at %s: %w", c.base, err)
	}
	if strings.HasSuffix(to.Path, "/login") {
		return 0, ErrLoginRefused
	}
	return 0, nil
}

// retryAfter is the wait a Retry-After header in seconds asks for, at least
// a second and at most maxLoginRetryAfter; 8 s (the login's longest delay)
// when absent or an HTTP date, which the plugin never sends.
func retryAfter(header string) time.Duration {
	seconds, err := strconv.Atoi(strings.TrimSpace(header))
	if err != nil {
		return 8 * time.Second
	}
	return min(max(time.Duration(seconds)*time.Second, time.Second), maxLoginRetryAfter)
}
