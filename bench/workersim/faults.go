package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// What a real worker sends about what went wrong, beside its request
// counts. Citations are to the installed Locust sources (locust@VERSION:
// path:line), read at 2.24.0 and 2.46.7.

// errorKind is one distinct failure text of one endpoint, with the key a
// worker files it under.
type errorKind struct {
	text string // StatsError.parse_error's form of the error: repr() of the exception
	key  string
}

// errorKinds builds kinds distinct failure texts per endpoint, shaped like
// the HTTPError an HttpSession raises for a 5xx (what parse_error makes of
// it is its repr, locust@2.46.7:locust/stats.py:738-752). Every worker uses
// the same table, as workers running one locustfile against one target do,
// so the master's errors grow with kinds, not with workers.
func errorKinds(names []string, kinds int) [][]errorKind {
	table := make([][]errorKind, len(names))
	for i, name := range names {
		table[i] = make([]errorKind, kinds)
		for k := range kinds {
			text := fmt.Sprintf("HTTPError('500 Server Error: INTERNAL SERVER ERROR for url: http://target%s?case=%d')", name, k)
			table[i][k] = errorKind{text: text, key: statsErrorKey("GET", name, text)}
		}
	}
	return table
}

// statsErrorKey is StatsError.create_key: the sha256 of
// f"{method}.{name}.{error!r}" (locust@2.24.0:locust/stats.py:729-731,
// locust@2.46.7:locust/stats.py:755-757). The master keys its errors by
// the key a report carries and never recomputes it, so only its being the
// same for the same error on every worker matters; it is computed as
// Locust does all the same.
func statsErrorKey(method, name, errorText string) string {
	sum := sha256.Sum256([]byte(method + "." + name + "." + pyRepr(errorText)))
	return hex.EncodeToString(sum[:])
}

// pyRepr is Python's repr() of an ASCII str: single quotes unless the text
// holds a single quote and no double one.
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// statsError is one StatsError as a worker serializes it in a report's
// "errors" (StatsErrorDict: name, method, error, occurrences,
// locust@2.24.0:locust/stats.py:80-82; since 2.44 also first_seen and
// last_seen, locust@2.46.7:locust/stats.py:69-73, which the master merges
// by min and max, :836-849). The worker sends only the errors since its
// last report (serialize_errors then reset, :292-293).
type statsError struct {
	Name        string   `msgpack:"name"`
	Method      string   `msgpack:"method"`
	Error       string   `msgpack:"error"`
	Occurrences int      `msgpack:"occurrences"`
	FirstSeen   *float64 `msgpack:"first_seen,omitempty"`
	LastSeen    *float64 `msgpack:"last_seen,omitempty"`
}

// exceptionKinds are the distinct tracebacks a broken task raises, as a
// worker formats them for the master: on_user_error sends
// {"msg": str(exception), "traceback": "".join(traceback.format_tb(tb))}
// per exception (locust@2.24.0:locust/runners.py:1249-1253,
// locust@2.46.7:locust/runners.py:1270-1272). The frames are those of a
// task raising in a TaskSet's run loop (locust@2.46.7:locust/user/task.py:
// 363,396,513); a real one is about as long (700-800 bytes).
func exceptionKinds(n int) []exceptionKind {
	const task = "/usr/lib/python3/dist-packages/locust/user/task.py"
	kinds := make([]exceptionKind, n)
	for k := range n {
		field := fmt.Sprintf("field_%d", k)
		tb := fmt.Sprintf(`  File "%[1]s", line 363, in run
    self.execute_next_task()
    ~~~~~~~~~~~~~~~~~~~~~~^^
  File "%[1]s", line 396, in execute_next_task
    self.execute_task(self._task_queue.popleft())
    ~~~~~~~~~~~~~~~~~^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "%[1]s", line 513, in execute_task
    task(self.user)
    ~~~~^^^^^^^^^^^
  File "/home/locust/locustfile.py", line %[2]d, in checkout_%[3]d
    order_id = response.json()["order"]["%[4]s"]
               ~~~~~~~~~~~~~~~~~~~~~~~~~~^^^^^^^^^^^^^
`, task, 40+k, k, field)
		// str(KeyError('field_k')) is the key's repr.
		kinds[k] = exceptionKind{msg: "'" + field + "'", traceback: tb}
	}
	return kinds
}

// exceptionKind is one exception message's payload.
type exceptionKind struct {
	msg, traceback string
}

// Log shipping, Locust 2.29 on: the worker's log handler keeps the last 500
// formatted records (LogReader, a deque(maxlen=500),
// locust@2.46.7:locust/log.py:14-20), and logs_reporter, every
// WORKER_LOG_REPORT_INTERVAL = 10 s from the worker's start, sends all of
// them as {"worker_id", "logs"} when the buffer is longer than at the last
// look; when it grew by more than 70 it warns, sends once more and stops
// for good (locust@2.46.7:locust/runners.py:54,1464-1481,1499-1500). The
// master keeps each worker's latest list (env.py:225-227) and /logs returns
// all of them (web.py:582-585). 2.24.0 has neither.
const (
	logReportInterval = 10 * time.Second
	logBufferLines    = 500
	logBurstLines     = 70
)

// sendsLogs says whether a worker of version ships its logs (2.29.0 on;
// not at 2.28.0, in locustio/locust's tags).
func sendsLogs(version string) bool { return versionAtLeast(version, 2, 29) }

// errorsHaveSeenTimes says whether version's StatsErrorDict carries
// first_seen and last_seen (2.44.0 on; not at 2.43.0).
func errorsHaveSeenTimes(version string) bool { return versionAtLeast(version, 2, 44) }

func versionAtLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	return err1 == nil && err2 == nil && (ma > major || ma == major && mi >= minor)
}

// logRecord formats one record as the worker's LogReader does, with the
// "default" formatter "[%(asctime)s] {HOSTNAME}/%(levelname)s/%(name)s:
// %(message)s" (locust@2.46.7:locust/log.py:30-32).
func logRecord(at time.Time, host, level, logger, message string) string {
	return fmt.Sprintf("[%s,%03d] %s/%s/%s: %s", at.Format("2006-01-02 15:04:05"), at.Nanosecond()/1e6, host, level, logger, message)
}

// exceptionLogRecord is the record a caught task exception logs:
// logger.error("%s\n%s", e, traceback.format_exc())
// (locust@2.46.7:locust/user/task.py:389-390, @2.24.0:368-369).
func exceptionLogRecord(at time.Time, host string, k exceptionKind) string {
	return logRecord(at, host, "ERROR", "locust.user.task",
		k.msg+"\nTraceback (most recent call last):\n"+k.traceback+"KeyError: "+k.msg)
}
