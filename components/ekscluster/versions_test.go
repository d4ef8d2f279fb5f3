package ekscluster

import (
	"errors"
	"strings"
	"testing"
	"time"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
)

// eksAnswer is DescribeClusterVersions' answer on the day at: each version
// with its dates and the status EKS gives it that day. 1.31 to 1.34: the
// EKS user guide's release calendar (kubernetes-versions.adoc); 1.35: as in
// fallbackCalendar. 1.36 stands for a version EKS added after the fallback
// table was written: its dates are the 14 months of standard and 12 of
// extended support the user guide gives every version, counted from
// 2026-06-02, a release date day2.md D8 reports from a third party; the
// tests need such a version, not its exact dates.
func eksAnswer(at time.Time, with136 bool) []eksRelease {
	rows := []eksRelease{
		{Version: "1.31", EndOfStandard: day("2025-11-26"), EndOfExtended: day("2026-11-26")},
		{Version: "1.32", EndOfStandard: day("2026-03-23"), EndOfExtended: day("2027-03-23")},
		{Version: "1.33", EndOfStandard: day("2026-07-29"), EndOfExtended: day("2027-07-29")},
		{Version: "1.34", EndOfStandard: day("2026-12-02"), EndOfExtended: day("2027-12-02")},
		{Version: "1.35", EndOfStandard: day("2027-03-27"), EndOfExtended: day("2028-03-27")},
	}
	if with136 {
		rows = append(rows, eksRelease{Version: "1.36", EndOfStandard: day("2027-08-02"), EndOfExtended: day("2028-08-02")})
	}
	for i := range rows {
		rows[i].Status = statusAt(rows[i], at)
	}
	return rows
}

// TestJudgeVersion: EKS's answer decides; without one, the fallback table
// decides but never refuses a version newer than it knows.
func TestJudgeVersion(t *testing.T) {
	denied := errors.New("AccessDeniedException: User is not authorized to perform: eks:DescribeClusterVersions")
	at := func(s string) time.Time { return day(s).Add(12 * time.Hour) }
	unknownStatus := eksAnswer(at("2027-04-01"), false)
	unknownStatus[4].Status = "SOMETHING_NEW"
	for _, tc := range []struct {
		name, version string
		now           time.Time
		offered       []eksRelease // EKS's answer; nil with readErr
		readErr       error
		extended      bool
		refused       []string // fragments of the error; none: accepted
		warned        []string // fragments of the warnings
	}{
		{name: "standard support", version: "1.35", now: at("2026-12-07"), offered: eksAnswer(at("2026-12-07"), false)},
		{name: "extended support warns and bills", version: "1.34", now: at("2026-12-07"), offered: eksAnswer(at("2026-12-07"), false), extended: true,
			warned: []string{"kubernetesVersion 1.34 left EKS standard support on 2026-12-02 (EKS, eks:DescribeClusterVersions)", "until 2027-12-02", "one in standard support, 1.35 (pulumi config set kubernetesVersion 1.35)"}},
		{name: "a version EKS added after the table", version: "1.36", now: at("2026-12-07"), offered: eksAnswer(at("2026-12-07"), true)},
		{name: "past extended support", version: "1.31", now: at("2026-12-07"), offered: eksAnswer(at("2026-12-07"), false),
			refused: []string{`kubernetesVersion "1.31" left EKS extended support on 2026-11-26`, "EKS offers 1.32 (extended support until 2027-03-23)",
				"1.35 (standard support until 2027-03-27, extended until 2028-03-27)", "pulumi config set kubernetesVersion 1.35"}},
		{name: "a version EKS does not offer", version: "1.40", now: at("2026-12-07"), offered: eksAnswer(at("2026-12-07"), true),
			refused: []string{`kubernetesVersion "1.40": EKS does not offer this version`, "1.36 (standard support until 2027-08-02", "one in standard support, 1.35 or 1.36"}},
		{name: "a status this program does not know: the dates decide", version: "1.35", now: at("2027-04-01"), offered: unknownStatus, extended: true,
			warned: []string{"left EKS standard support on 2027-03-27"}},
		{name: "the default in April 2027", version: "1.35", now: at("2027-04-01"), offered: eksAnswer(at("2027-04-01"), true), extended: true,
			warned: []string{"kubernetesVersion 1.35 left EKS standard support on 2027-03-27", "one in standard support, 1.36"}},
		{name: "the default in April 2028", version: "1.35", now: at("2028-04-01"), offered: eksAnswer(at("2028-04-01"), true),
			refused: []string{`kubernetesVersion "1.35" left EKS extended support on 2028-03-27`, "EKS offers 1.36 (extended support until 2028-08-02)"}},

		{name: "denied: the table decides, with a warning", version: "1.35", now: at("2026-12-07"), readErr: denied,
			warned: []string{"Could not ask EKS which Kubernetes versions it offers (eks:DescribeClusterVersions", "AccessDeniedException", "may be out of date"}},
		{name: "denied: a version newer than the table only warns", version: "1.36", now: at("2026-12-07"), readErr: denied,
			warned: []string{"kubernetesVersion 1.36 is newer than every version in this program's table (1.35 is its newest): it is accepted unchecked"}},
		{name: "denied: extended support by the table", version: "1.33", now: at("2027-01-01"), readErr: denied, extended: true,
			warned: []string{"left EKS standard support on 2026-07-29 (by this program's table)"}},
		{name: "denied: past extended support by the table", version: "1.34", now: at("2027-12-02"), readErr: denied,
			refused: []string{`kubernetesVersion "1.34" left EKS extended support on 2027-12-02 (by this program's table; EKS could not be asked)`}},
		{name: "denied: older than the table while its oldest runs only warns", version: "1.31", now: at("2026-11-01"), readErr: denied,
			warned: []string{"older than every version in this program's table (1.32 is its oldest)"}},
		{name: "denied: older than the table once its oldest left", version: "1.31", now: at("2027-04-01"), readErr: denied,
			refused: []string{`kubernetesVersion "1.31" is older than 1.32, which itself left EKS extended support on 2027-03-23`}},
		{name: "denied: the default in April 2028", version: "1.35", now: at("2028-04-01"), readErr: denied,
			refused: []string{`kubernetesVersion "1.35" left EKS extended support on 2028-03-27`, "No version in this program's table is in standard support: set kubernetesVersion to a newer one EKS offers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := judgeVersion(tc.version, tc.offered, tc.readErr, tc.now)
			if checkRefusal(t, err, tc.refused, nil) {
				return
			}
			if v.Extended != tc.extended {
				t.Errorf("extended support %v, want %v", v.Extended, tc.extended)
			}
			warnings := strings.Join(v.Warnings, "\n")
			if len(tc.warned) == 0 && warnings != "" {
				t.Errorf("warnings %q; want none", warnings)
			}
			for _, want := range tc.warned {
				if !strings.Contains(warnings, want) {
					t.Errorf("warnings %q\nwant them to contain %q", warnings, want)
				}
			}
		})
	}
}

// TestOneUndatedVersionKeepsEKSAnswer: a row whose support dates EKS leaves
// out (DescribeClusterVersions' endOfStandardSupportDate and
// endOfExtendedSupportDate are optional in the EKS API reference's
// ClusterVersionInformation) is kept with its dates unknown. Before, it
// discarded the whole answer and sent the preview to the fallback table.
func TestOneUndatedVersionKeepsEKSAnswer(t *testing.T) {
	now := day("2026-12-07").Add(12 * time.Hour)
	answer := []awseks.GetClusterVersionsClusterVersion{
		{ClusterVersion: "1.34", VersionStatus: statusExtended, EndOfStandardSupportDate: "2026-12-02T00:00:00Z", EndOfExtendedSupportDate: "2027-12-02T00:00:00Z"},
		{ClusterVersion: "1.35", VersionStatus: statusStandard, EndOfStandardSupportDate: "2027-03-27T00:00:00Z", EndOfExtendedSupportDate: "2028-03-27T00:00:00Z"},
		{ClusterVersion: "1.36", VersionStatus: statusStandard},
		{ClusterVersion: "1.37", VersionStatus: "SOMETHING_NEW", EndOfStandardSupportDate: "soon"},
	}
	offered, err := releasesOf(answer)
	if err != nil {
		t.Fatalf("releasesOf: %v", err)
	}
	for _, tc := range []struct {
		version  string
		extended bool
		warned   string
		listed   string
	}{
		{version: "1.35", listed: "1.35 (standard support until 2027-03-27, extended until 2028-03-27)"},
		{version: "1.34", extended: true, warned: "left EKS standard support on 2026-12-02"},
		{version: "1.36", listed: "1.36 (standard support until a date EKS does not give, extended until a date EKS does not give)"},
		{version: "1.37", warned: `kubernetesVersion 1.37: EKS offers it with status "SOMETHING_NEW" and without readable support dates`},
	} {
		v, err := judgeVersion(tc.version, offered, nil, now)
		if err != nil {
			t.Errorf("%s: refused: %v", tc.version, err)
			continue
		}
		if v.Extended != tc.extended {
			t.Errorf("%s: extended %v, want %v", tc.version, v.Extended, tc.extended)
		}
		warnings := strings.Join(v.Warnings, "\n")
		if tc.warned == "" && warnings != "" || !strings.Contains(warnings, tc.warned) {
			t.Errorf("%s: warnings %q, want %q", tc.version, warnings, tc.warned)
		}
		if list := listReleases(byVersion(offered), now); !strings.Contains(list, tc.listed) {
			t.Errorf("%s: EKS's versions listed as %q, want %q in it", tc.version, list, tc.listed)
		}
	}
}
