//! Terminal rendering of a login QR code, with the URL printed beneath for
//! terminals that cannot show it.

use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;

use crate::error::{Error, ErrorKind, Result};

/// The QR code of `url` drawn with Unicode half blocks (two modules per
/// character cell, with a quiet zone), followed by a line with the URL itself.
///
/// ```
/// let text = ilink_client::render_qr_terminal("https://example.com/qr?x=1").unwrap();
/// assert!(text.ends_with("https://example.com/qr?x=1\n"));
/// ```
pub fn render_qr_terminal(url: &str) -> Result<String> {
    let code = QrCode::new(url.as_bytes()).map_err(|e| {
        Error::new(ErrorKind::Config(format!(
            "cannot encode a {}-byte URL as a QR code",
            url.len()
        )))
        .with_source(e)
    })?;
    let picture = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    Ok(format!("{picture}\n{url}\n"))
}
