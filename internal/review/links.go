package review

import (
	"net/url"
	"regexp"
	"strings"
)

// forge is a source repository on GitHub or GitLab, which links can be
// made to.
type forge struct {
	base   string // https://HOST/PATH of the repository
	gitlab bool
}

var (
	pathElem = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	revision = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
)

// parseForge reads an image's source (org.opencontainers.image.source) as
// a GitHub or GitLab repository: https://github.com/OWNER/REPO[.git][/...],
// git@github.com:OWNER/REPO.git, https://gitlab.com/GROUP/.../PROJECT[/-/...]
// or a host named gitlab.*. Anything else, or a path with characters a
// link should not carry, is no forge.
func parseForge(source string) (forge, bool) {
	s := strings.TrimSpace(source)
	s = strings.TrimPrefix(s, "git+")
	if rest, ok := strings.CutPrefix(s, "git@"); ok {
		host, path, ok := strings.Cut(rest, ":")
		if !ok {
			return forge{}, false
		}
		s = "https://" + host + "/" + path
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Port() != "" {
		return forge{}, false
	}
	host := strings.ToLower(u.Hostname())
	var elems []string
	for _, e := range strings.Split(strings.Trim(u.Path, "/"), "/") {
		if e == "-" || e == "tree" || e == "blob" || e == "commit" {
			break
		}
		elems = append(elems, e)
	}
	gitlab := host == "gitlab.com" || strings.HasPrefix(host, "gitlab.")
	switch {
	case host == "github.com" || host == "www.github.com":
		host = "github.com"
		if len(elems) < 2 {
			return forge{}, false
		}
		elems = elems[:2]
	case gitlab:
		if len(elems) < 2 {
			return forge{}, false
		}
	default:
		return forge{}, false
	}
	elems[len(elems)-1] = strings.TrimSuffix(elems[len(elems)-1], ".git")
	for _, e := range elems {
		if !pathElem.MatchString(e) {
			return forge{}, false
		}
	}
	return forge{base: "https://" + host + "/" + strings.Join(elems, "/"), gitlab: gitlab}, true
}

// CompareURL links the changes from revision old to revision new in the
// source repository, when it is on GitHub or GitLab and both revisions
// are known and differ; else "".
func CompareURL(source, old, new string) string {
	f, ok := parseForge(source)
	if !ok || old == new || !revision.MatchString(old) || !revision.MatchString(new) {
		return ""
	}
	if f.gitlab {
		return f.base + "/-/compare/" + old + "..." + new
	}
	return f.base + "/compare/" + old + "..." + new
}

// RevisionURL links one revision of the source repository, when it is on
// GitHub or GitLab; else "".
func RevisionURL(source, rev string) string {
	f, ok := parseForge(source)
	if !ok || !revision.MatchString(rev) {
		return ""
	}
	if f.gitlab {
		return f.base + "/-/commit/" + rev
	}
	return f.base + "/commit/" + rev
}
