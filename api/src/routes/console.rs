//! The web console: plain HTML, CSS and ES modules under `api/console/`, embedded in the binary
//! at compile time and served by `klg serve` itself at `/` (the page) and `/console/{file}` (its
//! modules, style sheet and icon). No build step, no framework, nothing from another origin.
//!
//! These routes are public (the console asks for a token in the browser and sends it with its
//! API calls; the files hold no data) and are not operations of the OpenAPI document: they serve
//! a program, not the API. [`PUBLIC_PATTERNS`] is what authentication lets through without a
//! token; the route-parity test lists them as deliberately undocumented.
//!
//! Caching: every answer carries an `ETag` (the file's SHA-256) and `Cache-Control: no-cache`, so
//! the browser keeps its copy and revalidates it with one conditional request (304, no body) — a
//! new binary's files are picked up at once. The files are gzipped for clients that accept it, so
//! the tag is weak (`W/`): the same file in two content codings is not byte-identical. The page is locked down by a
//! Content-Security-Policy admitting only this origin's scripts, styles and API (no inline
//! script or style, no framing).

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::middleware::Compress;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::problem::ApiError;

/// Where the console's page is served.
pub const INDEX: &str = "/";
/// The pattern its other files are served under.
pub const ASSETS: &str = "/console/{file}";
/// Route patterns that need no token (see the module's documentation).
pub const PUBLIC_PATTERNS: [&str; 2] = [INDEX, ASSETS];

/// What the console's pages may load: only this origin's scripts, styles, images and API.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset { name: $name, content_type: $type, body: include_bytes!(concat!("../../console/", $name)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the console; `index.html` is the page at `/`.
static ASSETS_LIST: [Asset; 15] = [
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("i18n.js", JS),
    asset!("ui.js", JS),
    asset!("fleet.js", JS),
    asset!("aircraft.js", JS),
    asset!("inbox.js", JS),
    asset!("document.js", JS),
    asset!("tmc.js", JS),
    asset!("audit.js", JS),
    asset!("stats.js", JS),
    asset!("timeline.js", JS),
];

/// Each file's strong ETag (its SHA-256), computed once.
fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS_LIST.iter().map(|a| format!("W/\"{}\"", hex::encode(Sha256::digest(a.body)))).collect()
    })
}

/// Registers the console's routes (plain routes: they are not API operations).
pub fn serve(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(INDEX).wrap(Compress::default()).route(web::get().to(index)))
        .service(web::resource(ASSETS).wrap(Compress::default()).route(web::get().to(asset)));
}

async fn index(req: HttpRequest) -> HttpResponse {
    respond(&req, 0)
}

async fn asset(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    // `index.html` is served at `/` only: one address for the page.
    let found = ASSETS_LIST.iter().position(|a| a.name == file.as_str() && a.name != "index.html");
    let index = found.ok_or_else(|| ApiError::NotFound(format!("no console file {:?}", file.as_str())))?;
    Ok(respond(&req, index))
}

fn respond(req: &HttpRequest, index: usize) -> HttpResponse {
    let asset = &ASSETS_LIST[index];
    let tag = &etags()[index];
    // If-None-Match compares weakly: `"x"` and `W/"x"` both match.
    let opaque = tag.trim_start_matches("W/");
    let unchanged = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|t| t.trim().trim_start_matches("W/") == opaque || t.trim() == "*")
    });
    let mut response = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::ETAG, tag.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Frame-Options", "DENY"));
    if unchanged {
        return response.finish();
    }
    response.content_type(asset.content_type).body(asset.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `text` refers to after each `marker`, up to the closing quote.
    fn references<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
        text.split(marker).skip(1).filter_map(|rest| rest.split(['\'', '"']).next()).collect()
    }

    #[test]
    fn every_file_the_console_refers_to_is_served() {
        let served: Vec<&str> = ASSETS_LIST.iter().map(|a| a.name).collect();
        let mut seen = 0;
        for asset in ASSETS_LIST.iter().filter(|a| a.name.ends_with(".js") || a.name.ends_with(".html")) {
            let text = std::str::from_utf8(asset.body).expect("console files are UTF-8");
            let mut named = references(text, "from './");
            named.extend(references(text, "\"/console/"));
            for file in named {
                seen += 1;
                assert!(served.contains(&file), "{} refers to {file}, which is not served", asset.name);
            }
        }
        assert!(seen > ASSETS_LIST.len(), "only {seen} references found");
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let page = std::str::from_utf8(ASSETS_LIST[0].body).expect("UTF-8");
        assert!(
            !page.contains("<script>") && !page.contains("style="),
            "inline script or style in index.html"
        );
        assert!(!page.contains("http://") && !page.contains("https://"), "index.html links another origin");
    }
}
