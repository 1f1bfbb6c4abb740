//! Where the base URL, organization and credentials come from: flags, then
//! the `MONGODB_ATLAS_*` environment variables of the official Atlas CLI,
//! then a profile of the official CLI's `config.toml`.

use std::path::PathBuf;

use serde::Deserialize;

use crate::auth::{Credentials, Secret};
use crate::error::Error;

pub const DEFAULT_BASE_URL: &str = "https://cloud.mongodb.com";

/// Values given on the command line (all optional).
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    pub base_url: Option<String>,
    pub org_id: Option<String>,
    pub public_key: Option<String>,
    pub private_key: Option<Secret>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub access_token: Option<Secret>,
    /// Profile of the official CLI's config file (default `default`).
    pub profile: Option<String>,
    /// The official CLI's config file (default
    /// `<user config dir>/atlascli/config.toml`).
    pub config_file: Option<PathBuf>,
    /// Accept a plain `http://` base URL to a host other than loopback (also
    /// `ATLAS_CEDAR_ALLOW_INSECURE_HTTP=1`).
    pub allow_insecure_http: bool,
}

/// The environment variable that allows plain `http://` to a host other
/// than loopback (`1` or `true`), like `--allow-insecure-http`.
pub const ALLOW_INSECURE_HTTP_ENV: &str = "ATLAS_CEDAR_ALLOW_INSECURE_HTTP";

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub base_url: String,
    pub org_id: Option<String>,
    pub credentials: Credentials,
    /// Plain `http://` to a host other than loopback was allowed.
    pub allow_insecure_http: bool,
    /// Where the credentials came from, e.g. `environment (MONGODB_ATLAS_CLIENT_ID, …)`.
    pub credential_source: String,
    /// Notes for the user, e.g. other credential kinds that were ignored.
    pub notes: Vec<String>,
}

impl Settings {
    /// One line for stderr: which credential is used and from where.
    pub fn describe(&self) -> String {
        let id = self
            .credentials
            .public_id()
            .map(|i| format!(" {i}"))
            .unwrap_or_default();
        format!(
            "using {}{id} from {} against {}",
            self.credentials.kind(),
            self.credential_source,
            self.base_url
        )
    }
}

#[derive(Debug, Default, Clone)]
struct Layer {
    name: String,
    base_url: Option<String>,
    org_id: Option<String>,
    public_key: Option<String>,
    private_key: Option<Secret>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    access_token: Option<Secret>,
    auth_type: Option<String>,
}

impl Layer {
    /// Every complete credential of this layer, in preference order.
    fn credentials(&self) -> Vec<Credentials> {
        let mut out = Vec::new();
        if let (Some(id), Some(secret)) = (&self.client_id, &self.client_secret) {
            out.push(Credentials::ServiceAccount {
                client_id: id.clone(),
                client_secret: secret.clone(),
            });
        }
        if let (Some(public), Some(private)) = (&self.public_key, &self.private_key) {
            out.push(Credentials::ApiKey {
                public_key: public.clone(),
                private_key: private.clone(),
            });
        }
        if let Some(t) = &self.access_token {
            out.push(Credentials::AccessToken(t.clone()));
        }
        if let Some(auth_type) = &self.auth_type {
            let wanted = match auth_type.as_str() {
                "api_keys" => Some(crate::CredentialKind::ApiKey),
                "service_account" => Some(crate::CredentialKind::ServiceAccount),
                _ => None,
            };
            if let Some(w) = wanted {
                out.sort_by_key(|c| c.kind() != w);
            }
        }
        out
    }

    /// Names of half-set credentials, for error messages.
    fn incomplete(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.client_id.is_some() != self.client_secret.is_some() {
            out.push("a service account needs both client id and client secret");
        }
        if self.public_key.is_some() != self.private_key.is_some() {
            out.push("an API key needs both public and private key");
        }
        out
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

fn env_layer(env: &dyn Fn(&str) -> Option<String>) -> Layer {
    let get = |k: &str| non_empty(env(k));
    let mut names = Vec::new();
    for k in [
        "MONGODB_ATLAS_CLIENT_ID",
        "MONGODB_ATLAS_CLIENT_SECRET",
        "MONGODB_ATLAS_PUBLIC_API_KEY",
        "MONGODB_ATLAS_PRIVATE_API_KEY",
        "MONGODB_ATLAS_ACCESS_TOKEN",
    ] {
        if get(k).is_some() {
            names.push(k);
        }
    }
    Layer {
        name: format!("environment ({})", names.join(", ")),
        base_url: get("MONGODB_ATLAS_OPS_MANAGER_URL").or_else(|| get("MONGODB_ATLAS_BASE_URL")),
        org_id: get("MONGODB_ATLAS_ORG_ID"),
        public_key: get("MONGODB_ATLAS_PUBLIC_API_KEY"),
        private_key: get("MONGODB_ATLAS_PRIVATE_API_KEY").map(Secret::new),
        client_id: get("MONGODB_ATLAS_CLIENT_ID"),
        client_secret: get("MONGODB_ATLAS_CLIENT_SECRET").map(Secret::new),
        access_token: get("MONGODB_ATLAS_ACCESS_TOKEN").map(Secret::new),
        auth_type: None,
    }
}

#[derive(Debug, Default, Deserialize)]
struct ProfileToml {
    org_id: Option<String>,
    public_api_key: Option<String>,
    private_api_key: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    access_token: Option<String>,
    ops_manager_url: Option<String>,
    auth_type: Option<String>,
}

fn profile_layer(
    input: &SettingsInput,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Layer, Error> {
    let explicit = input
        .profile
        .clone()
        .or_else(|| non_empty(env("MONGODB_ATLAS_PROFILE")));
    let profile = explicit.clone().unwrap_or_else(|| "default".to_owned());
    let path = input
        .config_file
        .clone()
        .or_else(|| dirs::config_dir().map(|d| d.join("atlascli").join("config.toml")));
    let Some(path) = path else {
        return Ok(Layer::default());
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) if explicit.is_none() => return Ok(Layer::default()),
        Err(e) => {
            return Err(Error::Config(format!(
                "profile {profile}: cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let mut table: std::collections::BTreeMap<String, toml::Value> =
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let Some(value) = table.remove(&profile) else {
        if explicit.is_some() {
            return Err(Error::Config(format!(
                "profile {profile} not found in {}",
                path.display()
            )));
        }
        return Ok(Layer::default());
    };
    let p: ProfileToml = value
        .try_into()
        .map_err(|e| Error::Config(format!("{} [{profile}]: {e}", path.display())))?;
    Ok(Layer {
        name: format!("profile {profile} in {}", path.display()),
        base_url: non_empty(p.ops_manager_url),
        org_id: non_empty(p.org_id),
        public_key: non_empty(p.public_api_key),
        private_key: non_empty(p.private_api_key).map(Secret::new),
        client_id: non_empty(p.client_id),
        client_secret: non_empty(p.client_secret).map(Secret::new),
        access_token: non_empty(p.access_token).map(Secret::new),
        auth_type: p.auth_type,
    })
}

/// Normalises a base URL: no trailing `/`, no `/api/atlas/v2` suffix.
pub fn normalize_base_url(url: &str) -> String {
    let mut u = url.trim().trim_end_matches('/').to_owned();
    for suffix in ["/api/atlas/v2", "/api/atlas"] {
        if let Some(s) = u.strip_suffix(suffix) {
            u = s.to_owned();
        }
    }
    u
}

/// Refuses a base URL that would leak a secret: one holding a user name or
/// password (they would be printed and sent as Basic auth; the credentials
/// belong in the variables), or plain `http://` to a host other than
/// loopback (secrets and Digest exchanges would cross the network in clear)
/// unless `allow_insecure_http`. The message never repeats the URL's
/// user-info.
pub fn check_base_url(url: &str, allow_insecure_http: bool) -> Result<(), Error> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        Error::Config(format!(
            "the base URL is not a URL ({e}); give it as https://host[:port]"
        ))
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Config(
            "the base URL holds a user name or password (https://user:pass@host): remove them \
             from the URL and give the credentials in MONGODB_ATLAS_CLIENT_ID and \
             MONGODB_ATLAS_CLIENT_SECRET (service account), MONGODB_ATLAS_PUBLIC_API_KEY and \
             MONGODB_ATLAS_PRIVATE_API_KEY (API key) or MONGODB_ATLAS_ACCESS_TOKEN"
                .to_owned(),
        ));
    }
    let host = parsed.host_str().unwrap_or("");
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(host) || allow_insecure_http => Ok(()),
        "http" => Err(Error::Config(format!(
            "the base URL http://{host}… is plain HTTP to a host that is not loopback: \
             credentials and tokens would cross the network in clear. Use https://, or pass \
             --allow-insecure-http (or set {ALLOW_INSECURE_HTTP_ENV}=1) if this is intended"
        ))),
        other => Err(Error::Config(format!(
            "the base URL has scheme {other}: use https://"
        ))),
    }
}

/// `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Resolves settings: each value from the first of flags, environment,
/// profile that has it. Credentials come whole from one layer.
pub fn resolve(
    input: &SettingsInput,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, Error> {
    let flags = Layer {
        name: "command-line flags".to_owned(),
        base_url: non_empty(input.base_url.clone()),
        org_id: non_empty(input.org_id.clone()),
        public_key: non_empty(input.public_key.clone()),
        private_key: input.private_key.clone(),
        client_id: non_empty(input.client_id.clone()),
        client_secret: input.client_secret.clone(),
        access_token: input.access_token.clone(),
        auth_type: None,
    };
    let env_l = env_layer(env);
    let profile = profile_layer(input, env)?;
    let layers = [flags, env_l, profile];

    let base_url = layers
        .iter()
        .find_map(|l| l.base_url.clone())
        .map(|u| normalize_base_url(&u))
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let org_id = layers.iter().find_map(|l| l.org_id.clone());
    let allow_insecure_http = input.allow_insecure_http
        || env(ALLOW_INSECURE_HTTP_ENV)
            .is_some_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "yes"));
    check_base_url(&base_url, allow_insecure_http)?;

    let mut notes = Vec::new();
    for layer in &layers {
        let creds = layer.credentials();
        if let Some(first) = creds.first() {
            if creds.len() > 1 {
                let others: Vec<String> =
                    creds.iter().skip(1).map(|c| c.kind().to_string()).collect();
                notes.push(format!(
                    "{} sets several credentials; using the {} and ignoring: {}",
                    layer.name,
                    first.kind(),
                    others.join(", ")
                ));
            }
            return Ok(Settings {
                base_url,
                org_id,
                credentials: first.clone(),
                allow_insecure_http,
                credential_source: layer.name.clone(),
                notes,
            });
        }
        if let Some(problem) = layer.incomplete().into_iter().next() {
            return Err(Error::Config(format!("{}: {problem}", layer.name)));
        }
    }
    Err(Error::Config(
        "no Atlas credentials: set MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET \
         (service account), MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY \
         (API key) or MONGODB_ATLAS_ACCESS_TOKEN, pass the matching flags, or configure a \
         profile of the Atlas CLI"
            .to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::HashMap;

    use super::*;
    use crate::CredentialKind;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn no_profile() -> SettingsInput {
        SettingsInput {
            config_file: Some(PathBuf::from("/nonexistent/atlascli/config.toml")),
            ..SettingsInput::default()
        }
    }

    #[test]
    fn flags_beat_env() {
        let env = env_of(&[
            ("MONGODB_ATLAS_PUBLIC_API_KEY", "envpub"),
            ("MONGODB_ATLAS_PRIVATE_API_KEY", "envpriv"),
            ("MONGODB_ATLAS_ORG_ID", "envorg"),
        ]);
        let input = SettingsInput {
            access_token: Some(Secret::new("flagtoken")),
            org_id: Some("flagorg".into()),
            ..no_profile()
        };
        let s = resolve(&input, &env).unwrap();
        assert_eq!(s.credentials.kind(), CredentialKind::AccessToken);
        assert_eq!(s.org_id.as_deref(), Some("flagorg"));
        assert_eq!(s.credential_source, "command-line flags");
        assert_eq!(s.base_url, DEFAULT_BASE_URL);
    }

    #[test]
    fn env_prefers_service_account_and_says_so() {
        let env = env_of(&[
            ("MONGODB_ATLAS_PUBLIC_API_KEY", "envpub"),
            ("MONGODB_ATLAS_PRIVATE_API_KEY", "envpriv"),
            ("MONGODB_ATLAS_CLIENT_ID", "cid"),
            ("MONGODB_ATLAS_CLIENT_SECRET", "csecret"),
            ("MONGODB_ATLAS_OPS_MANAGER_URL", "http://127.0.0.1:1/"),
        ]);
        let s = resolve(&no_profile(), &env).unwrap();
        assert_eq!(s.credentials.kind(), CredentialKind::ServiceAccount);
        assert_eq!(s.base_url, "http://127.0.0.1:1");
        assert_eq!(s.notes.len(), 1);
        assert!(s.notes.iter().any(|n| n.contains("API key")));
        assert!(s.describe().contains("cid"));
        assert!(!format!("{s:?}").contains("csecret"));
        assert!(!format!("{s:?}").contains("envpriv"));
    }

    #[test]
    fn half_credentials_are_an_error() {
        let env = env_of(&[("MONGODB_ATLAS_PUBLIC_API_KEY", "envpub")]);
        let e = resolve(&no_profile(), &env).unwrap_err().to_string();
        assert!(e.contains("both public and private"), "{e}");
    }

    #[test]
    fn profile_is_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[default]\norg_id = \"porg\"\npublic_api_key = \"ppub\"\nprivate_api_key = \"ppriv\"\n\
             [ci]\nclient_id = \"pcid\"\nclient_secret = \"psec\"\nops_manager_url = \"https://x/\"\n",
        )
        .unwrap();
        let input = SettingsInput {
            config_file: Some(path.clone()),
            ..SettingsInput::default()
        };
        let s = resolve(&input, &env_of(&[])).unwrap();
        assert_eq!(s.credentials.kind(), CredentialKind::ApiKey);
        assert_eq!(s.org_id.as_deref(), Some("porg"));
        assert!(s.credential_source.contains("profile default"));

        let input = SettingsInput {
            config_file: Some(path.clone()),
            profile: Some("ci".into()),
            ..SettingsInput::default()
        };
        let s = resolve(&input, &env_of(&[("MONGODB_ATLAS_ORG_ID", "eorg")])).unwrap();
        assert_eq!(s.credentials.kind(), CredentialKind::ServiceAccount);
        assert_eq!(s.org_id.as_deref(), Some("eorg"));
        assert_eq!(s.base_url, "https://x");

        let input = SettingsInput {
            config_file: Some(path),
            profile: Some("missing".into()),
            ..SettingsInput::default()
        };
        assert!(resolve(&input, &env_of(&[])).is_err());
    }

    #[test]
    fn credentials_in_the_base_url_are_refused_without_repeating_them() {
        let env = env_of(&[
            ("MONGODB_ATLAS_ACCESS_TOKEN", "tok"),
            (
                "MONGODB_ATLAS_BASE_URL",
                "https://alice:hunter2@cloud.mongodb.com",
            ),
        ]);
        let e = resolve(&no_profile(), &env).unwrap_err().to_string();
        assert!(e.contains("user name or password"), "{e}");
        assert!(e.contains("MONGODB_ATLAS_PUBLIC_API_KEY"), "{e}");
        assert!(!e.contains("hunter2") && !e.contains("alice"), "{e}");
        let e = check_base_url("https://alice@cloud.mongodb.com", true).unwrap_err();
        assert!(!e.to_string().contains("alice"), "{e}");
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
            "https://cloud.mongodb.com",
        ] {
            assert!(check_base_url(ok, false).is_ok(), "{ok}");
        }
        let e = check_base_url("http://atlas.example.com", false).unwrap_err();
        assert!(e.to_string().contains("--allow-insecure-http"), "{e}");
        assert!(check_base_url("http://atlas.example.com", true).is_ok());
        assert!(check_base_url("ftp://atlas.example.com", true).is_err());
        let env = env_of(&[
            ("MONGODB_ATLAS_ACCESS_TOKEN", "tok"),
            ("MONGODB_ATLAS_BASE_URL", "http://10.1.2.3"),
        ]);
        assert!(resolve(&no_profile(), &env).is_err());
        let env = env_of(&[
            ("MONGODB_ATLAS_ACCESS_TOKEN", "tok"),
            ("MONGODB_ATLAS_BASE_URL", "http://10.1.2.3"),
            (ALLOW_INSECURE_HTTP_ENV, "1"),
        ]);
        assert!(resolve(&no_profile(), &env).unwrap().allow_insecure_http);
    }

    #[test]
    fn nothing_set() {
        let e = resolve(&no_profile(), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no Atlas credentials"), "{e}");
    }
}
