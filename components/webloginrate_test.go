package components

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The login's slow-down as the plugin sets it (locust_eks_worker.py):
// loginPerAddress is LOGIN_PER_ADDRESS, loginInterval LOGIN_INTERVAL.
const (
	loginPerAddress = 4
	loginInterval   = 500 * time.Millisecond
)

// loginDelay is how long the plugin holds the k-th login in a row from one
// address (k from 1) before checking it: nothing for the first, then
// LOGIN_DELAY (0.25 s) times 2 per failure before it, up to LOGIN_MAX_DELAY
// (8 s).
func loginDelay(k int) time.Duration {
	if k <= 1 {
		return 0
	}
	return min(250*time.Millisecond<<(k-2), 8*time.Second)
}

// TestWebLoginSlowDownOnRealLocust sends wrong logins at once to a real
// master: N from one address take at least the sum of their delays (they
// queue behind each other, each counted as it arrives), and the master
// logs them as 1 to N in a row; M from M addresses take at least (M-1)
// global intervals, each logged as the first from its address; and a right
// login sent while such a burst is under way gets in.
func TestWebLoginSlowDownOnRealLocust(t *testing.T) {
	eachLocust(t, func(t *testing.T, l *locust) {
		if !hasLoginOrIsRefused(t, l) {
			return
		}
		p, master := startLoggedLoginMaster(t, l)

		// One address, loginPerAddress at once: the most it may have under
		// way, all checked.
		const one = "127.0.0.2"
		var sum time.Duration
		for k := 1; k <= loginPerAddress; k++ {
			sum += loginDelay(k)
		}
		took, answers := loginBurst(t, p.webURL, slices.Repeat([]string{one}, loginPerAddress), nil)
		for _, a := range answers {
			if a != "refused" {
				t.Errorf("a wrong login from %s: %s; want refused", one, a)
			}
		}
		if took < sum {
			t.Errorf("%d wrong logins at once from %s took %v; want at least the sum of their delays, %v", loginPerAddress, one, took, sum)
		}
		if got, want := wrongLoginCounts(master.Output())[one], seq(1, loginPerAddress); !slices.Equal(got, want) {
			t.Errorf("the master logged wrong logins from %s as %v in a row; want %v", one, got, want)
		}

		// Several addresses, one wrong login each, and a right one from
		// another address once the first of them is answered.
		var many []string
		for i := range 8 {
			many = append(many, fmt.Sprintf("127.0.0.%d", 10+i))
		}
		const right = "127.0.0.30"
		var rightTook time.Duration
		var rightAnswer string
		tookMany, answers := loginBurst(t, p.webURL, many, func() {
			began := time.Now()
			rightAnswer = loginFrom(t, p.webURL, right, "team", testWebPassword)
			rightTook = time.Since(began)
		})
		for _, a := range answers {
			if a != "refused" {
				t.Errorf("a wrong login from one of %v: %s; want refused", many, a)
			}
		}
		floor := time.Duration(len(many)-1) * loginInterval
		if tookMany < floor {
			t.Errorf("%d wrong logins at once from %d addresses took %v; want at least %d intervals of %v, %v", len(many), len(many), tookMany, len(many)-1, loginInterval, floor)
		}
		counts := wrongLoginCounts(master.Output())
		for _, a := range many {
			if !slices.Equal(counts[a], []int{1}) {
				t.Errorf("the master logged wrong logins from %s as %v in a row; want [1]", a, counts[a])
			}
		}
		if rightAnswer != "in" {
			t.Errorf("the right login from %s during the burst: %s; want in", right, rightAnswer)
		}
		t.Logf("Locust %s: %d wrong logins at once from one address took %v (their delays sum to %v); %d from %d addresses took %v (floor %v); a right login sent during the latter got %s in %v",
			l.Version, loginPerAddress, took.Round(time.Millisecond), sum, len(many), len(many), tookMany.Round(time.Millisecond), floor, rightAnswer, rightTook.Round(time.Millisecond))
	})
}

// startLoggedLoginMaster is startLoginMaster without an exposure, keeping
// the master's process to read its log.
func startLoggedLoginMaster(t *testing.T, l *locust) (plan, *process) {
	t.Helper()
	p, _, master := startLoginMasterProcess(t, l, nil, "")
	return p, master
}

// loginBurst sends a wrong login from each address at once, each on a
// connection of its own, and returns how long they took together and
// each one's answer. afterFirst, if given, runs once the first answer has
// come, while the rest are under way; the burst's time counts until both
// are done.
func loginBurst(t *testing.T, webURL string, addresses []string, afterFirst func()) (time.Duration, []string) {
	t.Helper()
	answers := make([]string, len(addresses))
	first := make(chan struct{})
	var firstOnce sync.Once
	var wg sync.WaitGroup
	began := time.Now()
	for i, a := range addresses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = loginFrom(t, webURL, a, "team", "wrong-"+strconv.Itoa(i))
			firstOnce.Do(func() { close(first) })
		}()
	}
	if afterFirst != nil {
		<-first
		afterFirst()
	}
	wg.Wait()
	return time.Since(began), answers
}

// loginFrom posts the login form from a loopback address of its own (all
// of 127.0.0.0/8 reaches a master on 127.0.0.1, and the master sees the
// caller's address) and says what came of it: "in" (a redirect to the UI),
// "refused" (a redirect to the login page), or the status otherwise.
func loginFrom(t *testing.T, webURL, address, username, password string) string {
	t.Helper()
	answer, _ := loginFromKeeping(t, webURL, address, username, password)
	return answer
}

// loginFromKeeping is loginFrom that also returns the session cookie the
// answer sets, if any.
func loginFromKeeping(t *testing.T, webURL, address, username, password string) (string, *http.Cookie) {
	t.Helper()
	c := clientFrom(address)
	form := url.Values{"username": {username}, "password": {password}}
	resp, err := c.PostForm(webURL+"/locust-eks/login", form)
	if err != nil {
		t.Errorf("login from %s: %v", address, err)
		return err.Error(), nil
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookieName {
			session = ck
		}
	}
	to, _ := resp.Location()
	switch {
	case resp.StatusCode != http.StatusFound || to == nil:
		return resp.Status, session
	case strings.HasSuffix(to.Path, "/login"):
		return "refused", session
	default:
		return "in", session
	}
}

// sessionCookieName is the plugin's SESSION_COOKIE_NAME.
const sessionCookieName = "locust_eks_session"

// clientFrom is a client whose connections leave from address, one per
// request, and that shows redirects rather than following them.
func clientFrom(address string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(address)}, Timeout: 10 * time.Second}
	return &http.Client{
		Transport:     &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		CheckRedirect: noRedirects.CheckRedirect,
		Timeout:       60 * time.Second,
	}
}

// wrongLoginLine is the plugin's log line for a wrong login.
var wrongLoginLine = regexp.MustCompile(`wrong login from (\S+), (\d+) in a row from it`)

// wrongLoginCounts are, per address, the "in a row" counts the master
// logged for its wrong logins, in ascending order.
func wrongLoginCounts(log string) map[string][]int {
	counts := map[string][]int{}
	for _, m := range wrongLoginLine.FindAllStringSubmatch(log, -1) {
		n, _ := strconv.Atoi(m[2])
		counts[m[1]] = append(counts[m[1]], n)
	}
	for _, c := range counts {
		slices.Sort(c)
	}
	return counts
}

// seq is from, from+1, ..., to.
func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}
