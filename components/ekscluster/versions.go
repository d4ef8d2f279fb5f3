package ekscluster

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Whether EKS runs the Kubernetes version the stack asks for is asked of EKS
// at preview (eks:DescribeClusterVersions, through aws.eks.getClusterVersions):
// a table in the program goes stale, refusing versions EKS has added and
// billing at the wrong rate once a version leaves standard support. The table
// below is only the fallback for a preview that may not ask EKS.

// EKS version statuses, as DescribeClusterVersions reports them in
// versionStatus (EKS API reference, ClusterVersionInformation: "UNSUPPORTED |
// STANDARD_SUPPORT | EXTENDED_SUPPORT"); pulumi-aws v6.83.4 passes the field
// through as GetClusterVersionsClusterVersion.VersionStatus.
const (
	statusStandard    = "STANDARD_SUPPORT"
	statusExtended    = "EXTENDED_SUPPORT"
	statusUnsupported = "UNSUPPORTED"
)

// eksRelease is a Kubernetes minor version on EKS, with the days it leaves
// standard support (then billed as extended support, $0.60 instead of $0.10
// per cluster hour) and extended support (then EKS creates no cluster on it
// and upgrades existing ones by itself). Status is EKS's own word, empty for
// a row of the fallback table.
type eksRelease struct {
	Version                      string
	EndOfStandard, EndOfExtended time.Time
	Status                       string
}

// fallbackCalendar is the EKS release calendar as this program was written,
// used only when EKS cannot be asked. 1.32 to 1.34: the table "Amazon EKS
// Kubernetes release calendar" of the EKS user guide
// (awsdocs/amazon-eks-user-guide@0138560:latest/ug/versioning/kubernetes-versions.adoc).
// 1.35: available on EKS since 2026-01-28 (kubernetes-versions-standard.adoc
// at 0e7fca3), its dates from endoflife.date/amazon-eks as the guide's table
// has no row for it yet. Dates are UTC days: "Billing for extended support
// starts at the beginning of the day that the version reaches end of
// standard support, in the UTC+0 timezone" (kubernetes-versions.adoc).
var fallbackCalendar = []eksRelease{
	{Version: "1.32", EndOfStandard: day("2026-03-23"), EndOfExtended: day("2027-03-23")},
	{Version: "1.33", EndOfStandard: day("2026-07-29"), EndOfExtended: day("2027-07-29")},
	{Version: "1.34", EndOfStandard: day("2026-12-02"), EndOfExtended: day("2027-12-02")},
	{Version: "1.35", EndOfStandard: day("2027-03-27"), EndOfExtended: day("2028-03-27")},
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// now is the moment support is judged at: args.Now, or the clock's now.
func (a *ClusterArgs) now() time.Time {
	if a.Now.IsZero() {
		return time.Now()
	}
	return a.Now
}

// versionVerdict is what the preview concluded of KubernetesVersion.
type versionVerdict struct {
	// Extended: the version is in EKS extended support, and the control plane
	// is billed the surcharge.
	Extended bool
	// Warnings are logged at preview; the stack goes on.
	Warnings []string
}

// checkVersion asks EKS about KubernetesVersion and judges it; a read EKS
// denies or fails falls back to fallbackCalendar with a warning. It logs
// the warnings and fails the preview, before anything is registered, for a
// version EKS would not run.
func checkVersion(ctx *pulumi.Context, version string, now time.Time, opts ...pulumi.InvokeOption) (versionVerdict, error) {
	offered, readErr := eksVersions(ctx, opts...)
	v, err := judgeVersion(version, offered, readErr, now)
	for _, w := range v.Warnings {
		if err := ctx.Log.Warn(w, nil); err != nil {
			return v, err
		}
	}
	return v, err
}

// eksVersions asks EKS for every version of standard EKS clusters, the
// unsupported ones included so that a version past extended support is named
// with its dates. The dates come as RFC 3339 (terraform-provider-aws
// internal/service/eks/cluster_versions_data_source.go maps them to
// timetypes.RFC3339).
func eksVersions(ctx *pulumi.Context, opts ...pulumi.InvokeOption) ([]eksRelease, error) {
	res, err := awseks.GetClusterVersions(ctx, &awseks.GetClusterVersionsArgs{
		ClusterType: ptr("eks"),
		IncludeAll:  ptr(true),
	}, opts...)
	if err != nil {
		return nil, err
	}
	return releasesOf(res.ClusterVersions)
}

// releasesOf reads EKS's answer. A date that is missing or not RFC 3339
// leaves that date unknown (zero) rather than discarding the answer: one odd
// row, say a new version whose end dates EKS has not set, must not send every
// version back to the stale fallback table. The row's status still decides.
func releasesOf(versions []awseks.GetClusterVersionsClusterVersion) ([]eksRelease, error) {
	var out []eksRelease
	for _, v := range versions {
		r := eksRelease{Version: v.ClusterVersion, Status: v.VersionStatus}
		r.EndOfStandard, _ = time.Parse(time.RFC3339, v.EndOfStandardSupportDate)
		r.EndOfExtended, _ = time.Parse(time.RFC3339, v.EndOfExtendedSupportDate)
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("EKS listed no Kubernetes versions")
	}
	return out, nil
}

// judgeVersion judges version against what EKS said (offered), or, when
// EKS could not be asked (readErr), against fallbackCalendar at now.
func judgeVersion(version string, offered []eksRelease, readErr error, now time.Time) (versionVerdict, error) {
	if readErr != nil {
		return judgeByTable(version, readErr, now)
	}
	offered = byVersion(offered)
	i := slices.IndexFunc(offered, func(r eksRelease) bool { return r.Version == version })
	if i < 0 {
		return versionVerdict{}, fmt.Errorf("kubernetesVersion %q: EKS does not offer this version in this region (eks:DescribeClusterVersions). "+
			"It offers %s. %s", version, listReleases(offered, now), remedy(offered, now, false))
	}
	r := offered[i]
	status := r.Status
	if status != statusStandard && status != statusExtended && status != statusUnsupported {
		if r.EndOfStandard.IsZero() || r.EndOfExtended.IsZero() {
			return versionVerdict{Warnings: []string{fmt.Sprintf("kubernetesVersion %s: EKS offers it with status %q and without readable support dates "+
				"(eks:DescribeClusterVersions), so this preview cannot tell its support: it is accepted, and its cost estimated at the "+
				"standard-support rate.", version, r.Status)}}, nil
		}
		// A status this program does not know: EKS's own dates decide.
		status = statusAt(r, now)
	}
	switch status {
	case statusUnsupported:
		return versionVerdict{}, fmt.Errorf("kubernetesVersion %q left EKS extended support on %s (eks:DescribeClusterVersions): "+
			"EKS creates no cluster on it and upgrades existing ones by itself. EKS offers %s. %s",
			version, dateOf(r.EndOfExtended), listReleases(offered, now), remedy(offered, now, false))
	case statusExtended:
		return versionVerdict{Extended: true, Warnings: []string{extendedWarning(r, offered, now, false)}}, nil
	}
	return versionVerdict{}, nil
}

// judgeByTable is judgeVersion without EKS's answer. The table may be out of
// date, so it never refuses a version EKS might run: one newer than its
// newest row only warns; one older than its oldest row is refused once that
// row is itself past extended support, since EKS retires versions oldest
// first.
func judgeByTable(version string, readErr error, now time.Time) (versionVerdict, error) {
	table := fallbackCalendar
	v := versionVerdict{Warnings: []string{fmt.Sprintf("Could not ask EKS which Kubernetes versions it offers (eks:DescribeClusterVersions; "+
		"the deploy role needs it, see docs/ci.md, What the roles must be allowed to do): %v. kubernetesVersion %s is judged instead against this program's "+
		"table of EKS dates (components/ekscluster/versions.go), which may be out of date.", readErr, version)}}
	i := slices.IndexFunc(table, func(r eksRelease) bool { return r.Version == version })
	oldest, newest := table[0], table[len(table)-1]
	switch {
	case i < 0 && compareVersions(version, newest.Version) > 0:
		v.Warnings = append(v.Warnings, fmt.Sprintf("kubernetesVersion %s is newer than every version in this program's table (%s is its newest): "+
			"it is accepted unchecked, and its cost estimated at the standard-support rate; EKS refuses it at up if it does not offer it.", version, newest.Version))
		return v, nil
	case i < 0 && !now.Before(oldest.EndOfExtended):
		return v, fmt.Errorf("kubernetesVersion %q is older than %s, which itself left EKS extended support on %s: EKS runs no such version. "+
			"This program's table: %s. %s", version, oldest.Version, dateOf(oldest.EndOfExtended), listReleases(table, now), remedy(table, now, true))
	case i < 0:
		v.Warnings = append(v.Warnings, fmt.Sprintf("kubernetesVersion %s is older than every version in this program's table (%s is its oldest): "+
			"it is accepted unchecked, and its cost estimated at the standard-support rate; EKS refuses it at up if it no longer offers it.", version, oldest.Version))
		return v, nil
	}
	r := table[i]
	switch statusAt(r, now) {
	case statusUnsupported:
		return v, fmt.Errorf("kubernetesVersion %q left EKS extended support on %s (by this program's table; EKS could not be asked): "+
			"EKS creates no cluster on it and upgrades existing ones by itself. This program's table: %s. %s",
			version, dateOf(r.EndOfExtended), listReleases(table, now), remedy(table, now, true))
	case statusExtended:
		v.Extended = true
		v.Warnings = append(v.Warnings, extendedWarning(r, table, now, true))
	}
	return v, nil
}

// statusAt is a version's status at now by its dates.
func statusAt(r eksRelease, now time.Time) string {
	switch {
	case now.Before(r.EndOfStandard):
		return statusStandard
	case now.Before(r.EndOfExtended):
		return statusExtended
	}
	return statusUnsupported
}

// status is r's status: EKS's word, or its dates at now for a table row.
func (r eksRelease) status(now time.Time) string {
	if r.Status != "" {
		return r.Status
	}
	return statusAt(r, now)
}

func extendedWarning(r eksRelease, releases []eksRelease, now time.Time, fromTable bool) string {
	source := "EKS, eks:DescribeClusterVersions"
	if fromTable {
		source = "by this program's table"
	}
	return fmt.Sprintf("kubernetesVersion %s left EKS standard support on %s (%s): the control plane is billed as extended support "+
		"($0.60 instead of $0.10 per hour), and the estimate counts it, until %s, when EKS upgrades it by itself. %s",
		r.Version, dateOf(r.EndOfStandard), source, dateOf(r.EndOfExtended), remedy(releases, now, fromTable))
}

// remedy names the versions in standard support to move to, of EKS's
// answer or, fromTable, of the fallback table.
func remedy(releases []eksRelease, now time.Time, fromTable bool) string {
	var standard []string
	for _, r := range releases {
		if r.status(now) == statusStandard {
			standard = append(standard, r.Version)
		}
	}
	if len(standard) == 0 && fromTable {
		return "No version in this program's table is in standard support: set kubernetesVersion to a newer one EKS offers " +
			"(aws eks describe-cluster-versions lists them), which this preview accepts with a warning while EKS cannot be asked."
	}
	if len(standard) == 0 {
		return "None is in standard support: set kubernetesVersion to the newest offered (pulumi config set kubernetesVersion VERSION); an existing cluster moves one minor version per up."
	}
	return fmt.Sprintf("Set kubernetesVersion to one in standard support, %s (pulumi config set kubernetesVersion %s); an existing cluster moves one minor version per up.",
		strings.Join(standard, " or "), standard[len(standard)-1])
}

// listReleases lists the versions EKS runs at now with their dates.
func listReleases(releases []eksRelease, now time.Time) string {
	var parts []string
	for _, r := range releases {
		switch r.status(now) {
		case statusStandard:
			parts = append(parts, fmt.Sprintf("%s (standard support until %s, extended until %s)", r.Version, dateOf(r.EndOfStandard), dateOf(r.EndOfExtended)))
		case statusExtended:
			parts = append(parts, fmt.Sprintf("%s (extended support until %s)", r.Version, dateOf(r.EndOfExtended)))
		}
	}
	if len(parts) == 0 {
		return "no version"
	}
	return strings.Join(parts, ", ")
}

// dateOf is a support date as the preview prints it; EKS may leave one out.
func dateOf(t time.Time) string {
	if t.IsZero() {
		return "a date EKS does not give"
	}
	return t.UTC().Format(time.DateOnly)
}

// byVersion sorts releases by version, oldest first.
func byVersion(releases []eksRelease) []eksRelease {
	out := slices.Clone(releases)
	slices.SortFunc(out, func(a, b eksRelease) int { return compareVersions(a.Version, b.Version) })
	return out
}

// compareVersions orders "MAJOR.MINOR" versions by number; a part that is
// no number sorts first.
func compareVersions(a, b string) int {
	pa, pb := strings.SplitN(a, ".", 2), strings.SplitN(b, ".", 2)
	for i := range 2 {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}
