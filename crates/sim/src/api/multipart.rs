//! A small `multipart/form-data` reader, enough for `files.upload` as the SDK sends it (httpx:
//! CRLF line ends, one `Content-Disposition: form-data; name=…; filename=…` per part).

use bytes::Bytes;

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The form field name.
    pub name: String,
    /// The `filename` parameter, if the part is a file.
    pub filename: Option<String>,
    /// The part's `Content-Type`, if given.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub data: Bytes,
}

/// The boundary of a `multipart/form-data` content type, or `None` for any other type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let kind = params.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (key, value) = p.trim().split_once('=')?;
        key.eq_ignore_ascii_case("boundary")
            .then(|| value.trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| at + from)
}

/// A quoted or bare parameter of a `Content-Disposition` value.
fn param(value: &str, key: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| {
            let v = v.trim();
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v)
                .replace("\\\"", "\"")
        })
    })
}

/// The parts of `body`; `None` when the body is not a well-formed form with this boundary.
pub fn parse(body: &Bytes, boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut at = find(body, &delimiter, 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(parts);
        }
        at = find(body, b"\r\n", at)? + 2;
        let head_end = find(body, b"\r\n\r\n", at)?;
        let head = std::str::from_utf8(&body[at..head_end]).ok()?;
        let data_start = head_end + 4;
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let data_end = find(body, &closing, data_start)?;
        let mut name = None;
        let mut filename = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if key.trim().eq_ignore_ascii_case("content-disposition") {
                name = param(value, "name");
                filename = param(value, "filename");
            } else if key.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_owned());
            }
        }
        parts.push(Part {
            name: name?,
            filename,
            content_type,
            data: body.slice(data_start..data_end),
        });
        at = data_end + closing.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_with_a_file_and_a_field_parses() {
        let body = Bytes::from_static(
            b"--xyz\r\nContent-Disposition: form-data; name=\"expires_in_seconds\"\r\n\r\n3600\r\n\
              --xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\n\
              Content-Type: text/plain\r\n\r\nline\r\n\r\n--xyz--\r\n",
        );
        let parts = parse(&body, "xyz").expect("parses");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "expires_in_seconds");
        assert_eq!(parts[0].data, Bytes::from_static(b"3600"));
        assert_eq!(parts[1].filename.as_deref(), Some("a b.txt"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/plain"));
        assert_eq!(parts[1].data, Bytes::from_static(b"line\r\n"));
    }

    #[test]
    fn only_form_data_has_a_boundary() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"ab\"").as_deref(),
            Some("ab")
        );
        assert_eq!(boundary("application/json"), None);
    }

    #[test]
    fn a_truncated_form_is_refused() {
        let body =
            Bytes::from_static(b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n");
        assert_eq!(parse(&body, "xyz"), None);
    }
}
