package main

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// Locust's master and workers exchange messages over ZeroMQ: a worker's
// DEALER socket, identified by its node id, to the master's ROUTER. Each
// message is one frame, msgpack of the array (type, data, node_id)
// (locust/rpc/protocol.py, Message.serialize and unserialize, the same at
// 2.12.1 and 2.24.0; the master decodes with strict_map_key=False, so maps
// may have integer keys, as the response-time histograms do).

// message is one Locust RPC message.
type message struct {
	Type   string
	Data   any
	NodeID string
}

func (m message) encode() ([]byte, error) {
	return msgpack.Marshal([]any{m.Type, m.Data, m.NodeID})
}

func decode(frame []byte) (message, error) {
	var fields []any
	if err := msgpack.Unmarshal(frame, &fields); err != nil {
		return message{}, err
	}
	if len(fields) != 3 {
		return message{}, fmt.Errorf("a message of %d fields, want 3 (type, data, node_id)", len(fields))
	}
	typ, _ := fields[0].(string)
	node, _ := fields[2].(string)
	return message{Type: typ, Data: fields[1], NodeID: node}, nil
}

// Worker states as a worker reports them in its heartbeat (STATE_INIT,
// STATE_SPAWNING, STATE_RUNNING in locust/runners.py).
const (
	stateReady    = "ready"
	stateSpawning = "spawning"
	stateRunning  = "running"
)

// statsEntry is one StatsEntry as a worker serializes it for the master
// (StatsEntryDict in locust/stats.py, 2.12.1 and 2.24.0 alike); the master
// adds every field into its own entry (StatsEntry.extend).
type statsEntry struct {
	Name                 string      `msgpack:"name"`
	Method               string      `msgpack:"method"`
	LastRequestTimestamp *float64    `msgpack:"last_request_timestamp"`
	StartTime            float64     `msgpack:"start_time"`
	NumRequests          int         `msgpack:"num_requests"`
	NumNoneRequests      int         `msgpack:"num_none_requests"`
	NumFailures          int         `msgpack:"num_failures"`
	TotalResponseTime    int         `msgpack:"total_response_time"`
	MaxResponseTime      int         `msgpack:"max_response_time"`
	MinResponseTime      *int        `msgpack:"min_response_time"`
	TotalContentLength   int         `msgpack:"total_content_length"`
	ResponseTimes        map[int]int `msgpack:"response_times"`
	NumReqsPerSec        map[int]int `msgpack:"num_reqs_per_sec"`
	NumFailPerSec        map[int]int `msgpack:"num_fail_per_sec"`
}

// add records n requests of responseTime ms, failures of them failed, at
// now (seconds since the epoch).
func (e *statsEntry) add(now float64, n, failures, responseTime, length int) {
	if n == 0 {
		return
	}
	sec := int(now)
	e.LastRequestTimestamp = &now
	e.NumRequests += n
	e.NumFailures += failures
	e.TotalResponseTime += n * responseTime
	e.MaxResponseTime = max(e.MaxResponseTime, responseTime)
	if e.MinResponseTime == nil || responseTime < *e.MinResponseTime {
		e.MinResponseTime = &responseTime
	}
	e.TotalContentLength += n * length
	e.ResponseTimes[responseTime] += n
	e.NumReqsPerSec[sec] += n
	if failures > 0 {
		e.NumFailPerSec[sec] += failures
	}
}

// newEntry is an empty entry whose window starts at start, as a worker's
// entry after its last report (StatsEntry.reset sets start_time to now).
func newEntry(name, method string, start float64) *statsEntry {
	return &statsEntry{Name: name, Method: method, StartTime: start,
		ResponseTimes: map[int]int{}, NumReqsPerSec: map[int]int{}, NumFailPerSec: map[int]int{}}
}
