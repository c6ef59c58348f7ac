//! Which protected route a request falls under.

/// How a route matches the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// The path equals this string.
    Exact(String),
    /// The path starts with this string (a plain string prefix, as Envoy's route `prefix`: `/api`
    /// also covers `/apiary`, which errs on the side of protecting more).
    Prefix(String),
}

impl PathMatch {
    fn matches(&self, path: &str) -> bool {
        match self {
            PathMatch::Exact(exact) => path == exact,
            PathMatch::Prefix(prefix) => path.starts_with(prefix.as_str()),
        }
    }
}

/// A protected route: requests it matches need a valid bearer token for `resource` carrying
/// `scopes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The path it covers.
    pub path: PathMatch,
    /// The methods it covers, upper-case; `None` covers every method.
    pub methods: Option<Vec<String>>,
    /// The resource id (in the policy document) the route belongs to.
    pub resource: String,
    /// The scopes a token needs on this route (all of them).
    pub scopes: Vec<String>,
}

impl Route {
    fn accepts_method(&self, method: &str) -> bool {
        self.methods
            .as_ref()
            .is_none_or(|methods| methods.iter().any(|m| m == method))
    }

    /// Whether a request could match both routes: the same path match and a method in common.
    pub(crate) fn overlaps(&self, other: &Route) -> bool {
        self.path == other.path
            && match (&self.methods, &other.methods) {
                (Some(a), Some(b)) => a.iter().any(|m| b.contains(m)),
                _ => true,
            }
    }
}

/// The configured routes. The configuration refuses overlapping routes, so at most one route is
/// the best match for any request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// A table over routes that do not overlap (the configuration checks that).
    pub(crate) fn new(routes: Vec<Route>) -> RouteTable {
        RouteTable { routes }
    }

    /// The routes, in configuration order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route protecting a request, if any: among the routes whose method filter admits
    /// `method`, an exact path match wins over any prefix, and a longer prefix over a shorter
    /// one. `path` is the request's `:path`; its query and fragment are ignored. A route whose
    /// methods exclude the request's method does not hide a less specific route that admits it.
    ///
    /// Paths are compared as sent: run Envoy with `normalize_path` and `merge_slashes` so that
    /// `/a/../admin` or `//admin` cannot step around a prefix.
    pub fn find(&self, method: &str, path: &str) -> Option<&Route> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        // Rank: exact before prefix, then the longer prefix. Linear: a filter has a handful of
        // routes, and a scan beats building an index for them.
        self.routes
            .iter()
            .filter(|route| route.accepts_method(method) && route.path.matches(path))
            .max_by_key(|route| match &route.path {
                PathMatch::Exact(_) => (1, 0),
                PathMatch::Prefix(prefix) => (0, prefix.len()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: PathMatch, methods: Option<&[&str]>, resource: &str) -> Route {
        Route {
            path,
            methods: methods.map(|m| m.iter().map(|s| (*s).to_owned()).collect()),
            resource: resource.to_owned(),
            scopes: Vec::new(),
        }
    }

    fn prefix(p: &str) -> PathMatch {
        PathMatch::Prefix(p.to_owned())
    }

    fn exact(p: &str) -> PathMatch {
        PathMatch::Exact(p.to_owned())
    }

    fn table() -> RouteTable {
        RouteTable::new(vec![
            route(prefix("/"), None, "root"),
            route(prefix("/api"), None, "api"),
            route(prefix("/api/admin"), None, "admin"),
            route(exact("/api/admin/health"), Some(&["GET"]), "health"),
            route(prefix("/mcp"), Some(&["POST", "GET"]), "mcp"),
            route(prefix("/mcp"), Some(&["DELETE"]), "mcp-delete"),
        ])
    }

    fn resource<'t>(table: &'t RouteTable, method: &str, path: &str) -> Option<&'t str> {
        table.find(method, path).map(|r| r.resource.as_str())
    }

    #[test]
    fn longest_prefix_wins() {
        let t = table();
        assert_eq!(resource(&t, "GET", "/"), Some("root"));
        assert_eq!(resource(&t, "GET", "/other"), Some("root"));
        assert_eq!(resource(&t, "GET", "/api/items"), Some("api"));
        assert_eq!(resource(&t, "GET", "/apiary"), Some("api"));
        assert_eq!(resource(&t, "GET", "/api/admin/users"), Some("admin"));
    }

    #[test]
    fn exact_beats_longer_prefix() {
        let t = RouteTable::new(vec![
            route(prefix("/api/admin/health/and/more"), None, "long"),
            route(exact("/api/admin/health"), None, "exact"),
            route(prefix("/api/admin/health"), None, "same-prefix"),
        ]);
        assert_eq!(resource(&t, "GET", "/api/admin/health"), Some("exact"));
        assert_eq!(
            resource(&t, "GET", "/api/admin/health/x"),
            Some("same-prefix")
        );
        assert_eq!(
            resource(&t, "GET", "/api/admin/health/and/more"),
            Some("long")
        );
    }

    #[test]
    fn method_filter_falls_through_to_less_specific_route() {
        let t = table();
        assert_eq!(resource(&t, "GET", "/api/admin/health"), Some("health"));
        assert_eq!(resource(&t, "POST", "/api/admin/health"), Some("admin"));
        assert_eq!(resource(&t, "POST", "/mcp"), Some("mcp"));
        assert_eq!(resource(&t, "DELETE", "/mcp"), Some("mcp-delete"));
        assert_eq!(resource(&t, "PUT", "/mcp"), Some("root"));
        // Methods are case-sensitive (RFC 9110 section 9.1).
        assert_eq!(resource(&t, "get", "/api/admin/health"), Some("admin"));
    }

    #[test]
    fn query_and_fragment_are_ignored() {
        let t = table();
        assert_eq!(
            resource(&t, "GET", "/api/admin/health?verbose=1"),
            Some("health")
        );
        assert_eq!(resource(&t, "GET", "/api/admin/health#x"), Some("health"));
        assert_eq!(resource(&t, "GET", "/api?/admin"), Some("api"));
    }

    #[test]
    fn no_route_matches() {
        let t = RouteTable::new(vec![route(prefix("/api"), Some(&["GET"]), "api")]);
        assert_eq!(resource(&t, "GET", "/health"), None);
        assert_eq!(resource(&t, "POST", "/api"), None);
        assert_eq!(resource(&RouteTable::default(), "GET", "/"), None);
    }

    #[test]
    fn overlap() {
        let a = route(prefix("/mcp"), Some(&["POST", "GET"]), "a");
        assert!(a.overlaps(&route(prefix("/mcp"), Some(&["GET"]), "b")));
        assert!(a.overlaps(&route(prefix("/mcp"), None, "b")));
        assert!(!a.overlaps(&route(prefix("/mcp"), Some(&["DELETE"]), "b")));
        assert!(!a.overlaps(&route(exact("/mcp"), None, "b")));
        assert!(!a.overlaps(&route(prefix("/mcp/"), None, "b")));
    }
}
