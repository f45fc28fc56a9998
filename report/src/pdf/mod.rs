//! The EIR as a PDF (krilla): header, the verdict, the faces, the damage lines table, the
//! narrative, how it was written, room for signatures, then the photos with their damage boxes
//! drawn and numbered as the lines are. One language per document.

mod draw;

use draw::{Op, PAGE_H, PAGE_W, Rgb, text_width};
use omni_photo::scale::{Fit, downscale_jpeg};

use crate::eir::{Citation, Eir, Method, VerdictStatus};
use crate::lang::Language;
use crate::rules::face_list;
use crate::time::format_utc;

/// Why no PDF was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// The bundled font did not load.
    #[error("the bundled font did not load")]
    Font,
    /// A photo's JPEG was refused by the PDF writer.
    #[error("a photo could not be embedded: {0}")]
    Image(String),
    /// A page size or shape was invalid.
    #[error("page layout failed")]
    Layout,
    /// The PDF writer failed.
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// A photo's bytes, by id, for the photo pages.
#[derive(Debug, Clone, Copy)]
pub struct PhotoBytes<'a> {
    /// The photo's id (as in the EIR's lines).
    pub id: &'a str,
    /// JPEG or PNG bytes.
    pub bytes: &'a [u8],
}

const MARGIN: f32 = 40.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;
const BOTTOM: f32 = PAGE_H - MARGIN;
const BLACK: Rgb = (0, 0, 0);
const GREY: Rgb = (90, 90, 90);
const LIGHT: Rgb = (230, 230, 230);
const RED: Rgb = (200, 20, 20);

fn t(lang: Language, en: &'static str, es: &'static str) -> &'static str {
    match lang {
        Language::En => en,
        Language::Es => es,
    }
}

/// Pages being laid out top to bottom.
struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    /// Starts a new page when `h` points do not fit on this one.
    fn room(&mut self, h: f32) {
        if self.y + h > BOTTOM {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, color: Rgb, text: &str) {
        self.push(Op::Text {
            x,
            y: self.y + size,
            size,
            bold,
            color,
            text: text.to_owned(),
        });
    }

    /// A section heading; moves down.
    fn heading(&mut self, text: &str) {
        self.room(40.0);
        self.text(MARGIN, 11.0, true, BLACK, text);
        self.y += 17.0;
    }

    /// Wrapped text across the content width; moves down.
    fn paragraph(&mut self, size: f32, bold: bool, color: Rgb, text: &str) {
        for line in wrap(text, WIDTH, size, bold) {
            self.room(size * 1.35);
            self.text(MARGIN, size, bold, color, &line);
            self.y += size * 1.35;
        }
    }
}

/// Greedy word wrap to `width` points.
fn wrap(text: &str, width: f32, size: f32, bold: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if text_width(&candidate, size, bold) > width && !line.is_empty() {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
            } else {
                line = candidate;
            }
        }
        lines.push(line);
    }
    lines
}

/// `text` cut (with an ellipsis) to fit `width`.
fn clip(text: &str, width: f32, size: f32, bold: bool) -> String {
    if text_width(text, size, bold) <= width {
        return text.to_owned();
    }
    let mut out: String = String::new();
    for c in text.chars() {
        if text_width(&format!("{out}{c}…"), size, bold) > width {
            break;
        }
        out.push(c);
    }
    format!("{out}…")
}

fn header(l: &mut Layout, eir: &Eir, lang: Language) {
    let h = &eir.header;
    l.text(
        MARGIN,
        15.0,
        true,
        BLACK,
        t(
            lang,
            "EQUIPMENT INTERCHANGE RECEIPT (EIR)",
            "RECIBO DE INTERCAMBIO DE EQUIPO (EIR)",
        ),
    );
    let no = format!("{} {}", t(lang, "EIR No.", "EIR n.º"), h.eir_number);
    let x = PAGE_W - MARGIN - text_width(&no, 11.0, true);
    l.text(x, 11.0, true, BLACK, &no);
    l.y += 26.0;
    let place = h.location.as_ref().map_or_else(
        || "-".to_owned(),
        |p| {
            let coords = match (p.latitude, p.longitude) {
                (Some(a), Some(b)) => format!(" ({a:.5}, {b:.5})"),
                _ => String::new(),
            };
            format!("{}{coords}", p.name.as_deref().unwrap_or(""))
        },
    );
    let rows = [
        (
            t(lang, "Container", "Contenedor"),
            h.container_number.clone(),
        ),
        (
            t(lang, "Inspection kind", "Tipo de inspección"),
            h.kind_name.get(lang).to_owned(),
        ),
        (t(lang, "Inspector", "Inspector"), h.inspector.clone()),
        (t(lang, "Started", "Inicio"), format_utc(h.started_at_ms)),
        (t(lang, "Closed", "Cierre"), format_utc(h.closed_at_ms)),
        (t(lang, "Location", "Ubicación"), place),
        (
            t(lang, "Inspection / revision", "Inspección / revisión"),
            format!("{} / {}", h.inspection_id, h.revision),
        ),
    ];
    for (label, value) in rows {
        l.text(MARGIN, 9.0, true, GREY, label);
        let v = clip(&value, WIDTH - 130.0, 10.0, label == rows_first(lang));
        l.text(MARGIN + 130.0, 10.0, label == rows_first(lang), BLACK, &v);
        l.y += 14.0;
    }
    l.y += 6.0;
}

fn rows_first(lang: Language) -> &'static str {
    t(lang, "Container", "Contenedor")
}

fn verdict(l: &mut Layout, eir: &Eir, lang: Language) {
    let color = match eir.verdict.status {
        VerdictStatus::Sound => (20, 130, 60),
        VerdictStatus::RepairNeeded => (200, 120, 0),
        VerdictStatus::NotFit => RED,
    };
    let reason = wrap(eir.verdict.reason.get(lang), WIDTH - 16.0, 9.5, false);
    let h = 28.0 + reason.len() as f32 * 13.0;
    l.room(h + 8.0);
    l.push(Op::Rect {
        x: MARGIN,
        y: l.y,
        w: WIDTH,
        h,
        fill: None,
        stroke: Some((color, 1.5)),
    });
    let title = format!(
        "{}: {}",
        t(lang, "VERDICT", "VEREDICTO"),
        eir.verdict.status.name(lang)
    );
    let top = l.y;
    l.y += 6.0;
    l.text(MARGIN + 8.0, 13.0, true, color, &title);
    l.y += 20.0;
    for line in reason {
        l.text(MARGIN + 8.0, 9.5, false, BLACK, &line);
        l.y += 13.0;
    }
    l.y = top + h + 10.0;
}

fn faces(l: &mut Layout, eir: &Eir, lang: Language) {
    let f = &eir.faces;
    let text = format!(
        "{}: {}    {}: {}",
        t(lang, "Faces required", "Caras requeridas"),
        face_list(&f.required),
        t(lang, "photographed", "fotografiadas"),
        face_list(&f.photographed)
    );
    l.room(30.0);
    l.text(MARGIN, 9.5, false, BLACK, &text);
    l.y += 14.0;
    let (missing, color) = if f.missing.is_empty() {
        (t(lang, "none", "ninguna").to_owned(), BLACK)
    } else {
        (face_list(&f.missing), RED)
    };
    let label = format!(
        "{}: {missing}",
        t(lang, "Faces missing", "Caras sin fotografiar")
    );
    l.text(MARGIN, 9.5, true, color, &label);
    l.y += 20.0;
}

const COLUMNS: [(f32, &str, &str); 9] = [
    (22.0, "No.", "N.º"),
    (62.0, "Photo", "Foto"),
    (28.0, "Face", "Cara"),
    (40.0, "Loc.", "Ubic."),
    (100.0, "Damage", "Daño"),
    (100.0, "Repair", "Reparación"),
    (52.0, "Severity", "Gravedad"),
    (36.0, "Conf.", "Conf."),
    (75.0, "Source", "Origen"),
];

fn table_header(l: &mut Layout, lang: Language) {
    l.push(Op::Rect {
        x: MARGIN,
        y: l.y,
        w: WIDTH,
        h: 15.0,
        fill: Some(LIGHT),
        stroke: None,
    });
    let mut x = MARGIN + 2.0;
    l.y += 2.0;
    for (w, en, es) in COLUMNS {
        l.text(x, 8.5, true, BLACK, t(lang, en, es));
        x += w;
    }
    l.y += 15.0;
}

fn lines_table(l: &mut Layout, eir: &Eir, lang: Language) {
    l.heading(t(
        lang,
        "Damage lines (ISO 9897 / CEDEX)",
        "Líneas de daño (ISO 9897 / CEDEX)",
    ));
    if eir.lines.is_empty() {
        l.text(
            MARGIN,
            9.5,
            false,
            BLACK,
            t(lang, "No damage recorded.", "Sin daños registrados."),
        );
        l.y += 20.0;
        return;
    }
    table_header(l, lang);
    for line in &eir.lines {
        if l.y + 14.0 > BOTTOM {
            l.room(BOTTOM);
            table_header(l, lang);
        }
        let damage = match &line.damage_code {
            Some(code) => format!("{code} {}", line.damage.get(lang)),
            None => format!("– {}", line.damage.get(lang)),
        };
        let source = match &line.cites {
            Citation::Detection { source, index, .. } => format!("{source} #{index}"),
            Citation::Review { review_id, .. } => {
                format!("{} {review_id}", t(lang, "review", "revisión"))
            }
        };
        let cells = [
            line.number.to_string(),
            line.photo_id.clone(),
            line.face.to_string(),
            line.location.to_string(),
            damage,
            format!("{} {}", line.repair_code, line.repair.get(lang)),
            line.severity.name(lang).to_owned(),
            line.confidence
                .map_or_else(|| "-".to_owned(), |c| format!("{:.0}%", c * 100.0)),
            source,
        ];
        let mut x = MARGIN + 2.0;
        for ((w, _, _), cell) in COLUMNS.iter().zip(cells) {
            l.text(x, 8.5, false, BLACK, &clip(&cell, w - 4.0, 8.5, false));
            x += w;
        }
        l.y += 13.0;
        l.push(Op::Line {
            from: (MARGIN, l.y),
            to: (MARGIN + WIDTH, l.y),
            color: LIGHT,
            width: 0.5,
        });
        l.y += 1.0;
    }
    l.y += 12.0;
}

fn narrative(l: &mut Layout, eir: &Eir, lang: Language) {
    l.heading(t(lang, "Narrative", "Descripción"));
    l.paragraph(9.5, false, BLACK, eir.narrative.get(lang));
    l.y += 6.0;
    let w = &eir.written_by;
    let model = w.model_id.clone().unwrap_or_default();
    let usage = w.usage.map_or_else(String::new, |u| {
        format!(", {} / {} tokens", u.input_tokens, u.output_tokens)
    });
    let by = match (w.method, &w.fallback_reason, lang) {
        (Method::Nova, _, Language::En) => {
            format!("Written by Amazon Nova ({model}{usage}), checked against the detections.")
        }
        (Method::Nova, _, Language::Es) => {
            format!("Redactado por Amazon Nova ({model}{usage}), comprobado con las detecciones.")
        }
        (Method::Rules, Some(reason), Language::En) => {
            format!("Written by deterministic rules; Nova ({model}) not used: {reason}.")
        }
        (Method::Rules, Some(reason), Language::Es) => {
            format!("Redactado por reglas deterministas; Nova ({model}) no usado: {reason}.")
        }
        (Method::Rules, None, Language::En) => "Written by deterministic rules.".to_owned(),
        (Method::Rules, None, Language::Es) => "Redactado por reglas deterministas.".to_owned(),
    };
    l.paragraph(8.0, false, GREY, &by);
    l.y += 10.0;
}

fn signatures(l: &mut Layout, lang: Language) {
    let h = 78.0;
    l.room(h + 10.0);
    let w = (WIDTH - 20.0) / 2.0;
    let boxes = [
        t(lang, "Inspector", "Inspector"),
        t(lang, "Driver / carrier", "Conductor / transportista"),
    ];
    for (i, title) in boxes.into_iter().enumerate() {
        let x = MARGIN + i as f32 * (w + 20.0);
        l.push(Op::Rect {
            x,
            y: l.y,
            w,
            h,
            fill: None,
            stroke: Some((GREY, 0.8)),
        });
        l.push(Op::Text {
            x: x + 6.0,
            y: l.y + 13.0,
            size: 9.0,
            bold: true,
            color: BLACK,
            text: title.to_owned(),
        });
        for (j, label) in [
            t(lang, "Name", "Nombre"),
            t(lang, "Signature", "Firma"),
            t(lang, "Date", "Fecha"),
        ]
        .into_iter()
        .enumerate()
        {
            let y = l.y + 34.0 + j as f32 * 18.0;
            l.push(Op::Text {
                x: x + 6.0,
                y,
                size: 8.0,
                bold: false,
                color: GREY,
                text: label.to_owned(),
            });
            l.push(Op::Line {
                from: (x + 60.0, y + 1.0),
                to: (x + w - 8.0, y + 1.0),
                color: GREY,
                width: 0.5,
            });
        }
    }
    l.y += h + 10.0;
}

fn photos(
    l: &mut Layout,
    eir: &Eir,
    photos: &[PhotoBytes<'_>],
    lang: Language,
    jpegs: &mut Vec<Vec<u8>>,
) {
    const SLOT: f32 = (PAGE_H - 2.0 * MARGIN - 20.0) / 2.0;
    let mut first = true;
    for p in photos {
        let Ok(scaled) = downscale_jpeg(p.bytes, Fit::MaxPixels(1_000_000), 80) else {
            continue;
        };
        let (pw, ph) = (scaled.width, scaled.height);
        let lines: Vec<_> = eir
            .lines
            .iter()
            .filter(|line| line.photo_id == p.id)
            .collect();
        let face = lines.first().map(|line| line.face);
        if first {
            l.pages.push(Vec::new());
            l.y = MARGIN;
            first = false;
        }
        l.room(SLOT);
        let numbers: Vec<String> = lines.iter().map(|line| line.number.to_string()).collect();
        let caption = format!(
            "{} {}{} — {}: {}",
            t(lang, "Photo", "Foto"),
            p.id,
            face.map_or_else(String::new, |f| format!(" ({f}, {})", f.name(lang))),
            t(lang, "lines", "líneas"),
            if numbers.is_empty() {
                "-".to_owned()
            } else {
                numbers.join(", ")
            },
        );
        l.text(MARGIN, 9.5, true, BLACK, &clip(&caption, WIDTH, 9.5, true));
        l.y += 16.0;
        let avail_h = SLOT - 26.0;
        let scale = (WIDTH / pw as f32).min(avail_h / ph as f32);
        let (w, h) = (pw as f32 * scale, ph as f32 * scale);
        l.push(Op::Image {
            x: MARGIN,
            y: l.y,
            w,
            h,
            index: jpegs.len(),
        });
        jpegs.push(scaled.bytes);
        // Boxes are in the original photo's oriented pixels; the embedded copy is downscaled
        // from it with the aspect kept, so one factor maps both.
        let orig_w = scaled.source.0 as f32;
        let k = w / orig_w.max(1.0);
        for line in &lines {
            let b = line.bbox;
            let (x, y) = (MARGIN + b.x1 * k, l.y + b.y1 * k);
            l.push(Op::Rect {
                x,
                y,
                w: (b.x2 - b.x1) * k,
                h: (b.y2 - b.y1) * k,
                fill: None,
                stroke: Some((RED, 1.5)),
            });
            let label = format!("{} {}", line.number, line.class.name(lang));
            let lw = text_width(&label, 8.0, true) + 4.0;
            l.push(Op::Rect {
                x,
                y: (y - 11.0).max(l.y),
                w: lw,
                h: 11.0,
                fill: Some(RED),
                stroke: None,
            });
            l.push(Op::Text {
                x: x + 2.0,
                y: (y - 11.0).max(l.y) + 8.5,
                size: 8.0,
                bold: true,
                color: (255, 255, 255),
                text: label,
            });
        }
        l.y += avail_h + 10.0;
    }
}

/// The EIR in `lang` as a PDF, with the photos given (those whose bytes do not decode are left
/// out).
pub fn render_pdf(
    eir: &Eir,
    photo_bytes: &[PhotoBytes<'_>],
    lang: Language,
) -> Result<Vec<u8>, PdfError> {
    let mut l = Layout::new();
    header(&mut l, eir, lang);
    verdict(&mut l, eir, lang);
    faces(&mut l, eir, lang);
    lines_table(&mut l, eir, lang);
    narrative(&mut l, eir, lang);
    signatures(&mut l, lang);
    let mut jpegs = Vec::new();
    photos(&mut l, eir, photo_bytes, lang, &mut jpegs);
    draw::render(&l.pages, jpegs)
}
