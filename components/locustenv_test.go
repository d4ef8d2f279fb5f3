package components

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/locust-eks/locust-on-eks/internal/testsupport/locusttest"
)

// imageEnvVars are the environment variables Locust 2.46.3, the default
// image's until 2.46.7 and still pinned by stacks that keep it, reads as its
// settings: every env_var= in locust/argument_parser.py@2.46.3, and
// LOCUST_USER_CLASSES, which line 894 reads from os.environ. That version
// cannot run here; the suite's own versions, the default image's 2.46.7
// among them, are asked directly (settingsOf).
var imageEnvVars = []string{
	"LOCUST_AUTOQUIT", "LOCUST_AUTOSTART", "LOCUST_BUILD_PATH", "LOCUST_CONFIG_USERS", "LOCUST_CSV",
	"LOCUST_CSV_FULL_HISTORY", "LOCUST_ENABLE_OPENTELEMETRY", "LOCUST_EXCLUDE_TAGS", "LOCUST_EXIT_CODE_ON_ERROR",
	"LOCUST_EXPECT_WORKERS", "LOCUST_EXPECT_WORKERS_MAX_WAIT", "LOCUST_HEADFUL", "LOCUST_HEADLESS", "LOCUST_HOST",
	"LOCUST_HTML", "LOCUST_LEGACY_UI", "LOCUST_LOCUSTFILE", "LOCUST_LOGFILE", "LOCUST_LOGLEVEL",
	"LOCUST_MASTER_BIND_HOST", "LOCUST_MASTER_BIND_PORT", "LOCUST_MASTER_NODE_HOST", "LOCUST_MASTER_NODE_PORT",
	"LOCUST_MODE_MASTER", "LOCUST_MODE_WORKER", "LOCUST_PRINT_STATS", "LOCUST_PROCESSES",
	"LOCUST_RESET_STATS", "LOCUST_RUN_TIME", "LOCUST_SKIP_LOG_SETUP", "LOCUST_SPAWN_RATE", "LOCUST_STOP_TIMEOUT",
	"LOCUST_TAGS", "LOCUST_TLS_CERT", "LOCUST_TLS_KEY", "LOCUST_USERCLASS_PICKER", "LOCUST_USERS",
	"LOCUST_USER_CLASSES", "LOCUST_WEB_AUTH", "LOCUST_WEB_BASE_PATH", "LOCUST_WEB_HOST",
	"LOCUST_WEB_HOST_DISPLAY_NAME", "LOCUST_WEB_LOGIN", "LOCUST_WEB_PORT",
}

// allowedEnvVars are the Locust settings users may set through extraEnv or
// secretEnv; docs/configuration.md's "Locust settings in extraEnv" lists them.
var allowedEnvVars = []string{
	"LOCUST_CONFIG_USERS", "LOCUST_ENABLE_OPENTELEMETRY", "LOCUST_EXCLUDE_TAGS", "LOCUST_EXIT_CODE_ON_ERROR",
	"LOCUST_EXPECT_WORKERS", "LOCUST_EXPECT_WORKERS_MAX_WAIT", "LOCUST_HEADFUL", "LOCUST_LOGLEVEL",
	"LOCUST_ONLY_SUMMARY", "LOCUST_PRINT_STATS", "LOCUST_RESET_STATS", "LOCUST_SKIP_LOG_SETUP", "LOCUST_TAGS",
	"LOCUST_USER_CLASSES", "LOCUST_WEB_HOST_DISPLAY_NAME",
}

// settingsOf asks a real Locust which environment variables its argument
// parser reads.
func settingsOf(t *testing.T, l *locusttest.Locust) []string {
	const program = `from locust import argument_parser as a
print("\n".join(sorted({x.env_var for x in a.get_parser()._actions if getattr(x, "env_var", None)})))`
	cmd := exec.Command(l.Python, "-c", program)
	cmd.Env = append(cmd.Environ(), l.Env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("Locust %s: %v", l.Version, err)
	}
	return strings.Fields(string(out))
}

// TestEveryLocustSettingIsDecided checks the component's lists against what
// Locust really reads: each managed or refused name is a setting of some
// version (a typo would refuse nothing), and each setting of each version,
// the suite's and the image's, is managed, refused or allowed on purpose.
func TestEveryLocustSettingIsDecided(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, name := range imageEnvVars {
		known[name] = true
	}
	decided := func(t *testing.T, version string, names []string) {
		for _, name := range names {
			_, refused := RefusedEnvVars[name]
			if !refused && !slices.Contains(ManagedEnvVars, name) && !slices.Contains(allowedEnvVars, name) {
				t.Errorf("Locust %s reads %s, which is neither managed, refused nor allowed", version, name)
			}
		}
	}
	decided(t, "2.46.3", imageEnvVars)
	// In turn: the checks after it need every version's settings in known.
	locusttest.EachInTurn(t, func(t *testing.T, l *locusttest.Locust) {
		names := settingsOf(t, l)
		if len(names) < 20 || !slices.Contains(names, "LOCUST_HOST") {
			t.Fatalf("Locust %s: the parser's settings look wrong: %v", l.Version, names)
		}
		decided(t, l.Version, names)
		for _, name := range names {
			known[name] = true
		}
	})
	for _, name := range append(slices.Collect(maps.Keys(RefusedEnvVars)), ManagedEnvVars...) {
		if !known[name] {
			t.Errorf("%s is not a setting of any Locust version checked, so refusing it protects nothing", name)
		}
	}
	for _, name := range allowedEnvVars {
		if ValidateEnvName(name, false) != nil {
			t.Errorf("%s is allowed but ValidateEnvName refuses it", name)
		}
	}
}
