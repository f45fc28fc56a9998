//! Drawing laid-out pages with krilla: text (Liberation Sans, subset-embedded, so accents and
//! ñ come out as text pdftotext reads back), rectangles, lines and JPEG photos.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

use super::PdfError;

/// A4 in points.
pub const PAGE_W: f32 = 595.28;
/// A4 height in points.
pub const PAGE_H: f32 = 841.89;

const REGULAR: &[u8] = include_bytes!("../../fonts/LiberationSans-Regular.ttf");
const BOLD: &[u8] = include_bytes!("../../fonts/LiberationSans-Bold.ttf");

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// One drawing operation, in points from the page's top-left corner.
#[derive(Debug, Clone)]
pub enum Op {
    /// Text on one line; `y` is the baseline.
    Text {
        /// Left.
        x: f32,
        /// Baseline.
        y: f32,
        /// Font size.
        size: f32,
        /// Bold face.
        bold: bool,
        /// Colour.
        color: Rgb,
        /// The text.
        text: String,
    },
    /// A rectangle, filled and/or stroked.
    Rect {
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Fill colour.
        fill: Option<Rgb>,
        /// Stroke colour and width.
        stroke: Option<(Rgb, f32)>,
    },
    /// A straight line.
    Line {
        /// Start.
        from: (f32, f32),
        /// End.
        to: (f32, f32),
        /// Colour.
        color: Rgb,
        /// Width.
        width: f32,
    },
    /// A JPEG (index into the document's images), scaled to `w` x `h`.
    Image {
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Which image.
        index: usize,
    },
}

/// Approximate advance width of `text` in Liberation Sans at `size` (for wrapping and
/// clipping; a little wide on purpose so text never runs past its cell).
pub fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let per = if bold { 0.58 } else { 0.54 };
    text.chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | ' ' => 0.3,
            'm' | 'w' | 'M' | 'W' | '@' => 0.86,
            c if c.is_ascii_uppercase() || c.is_ascii_digit() => 0.66,
            _ => per,
        })
        .sum::<f32>()
        * size
}

fn paint(c: Rgb) -> krilla::paint::Paint {
    rgb::Color::new(c.0, c.1, c.2).into()
}

fn draw_op(s: &mut Surface<'_>, op: &Op, fonts: &(Font, Font), images: &[Image]) {
    match op {
        Op::Text {
            x,
            y,
            size,
            bold,
            color,
            text,
        } => {
            s.set_fill(Some(Fill {
                paint: paint(*color),
                opacity: NormalizedF32::ONE,
                rule: Default::default(),
            }));
            s.set_stroke(None);
            let font = if *bold { &fonts.1 } else { &fonts.0 };
            s.draw_text(
                Point::from_xy(*x, *y),
                font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Op::Rect {
            x,
            y,
            w,
            h,
            fill,
            stroke,
        } => {
            let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else {
                return;
            };
            let mut pb = PathBuilder::new();
            pb.push_rect(rect);
            let Some(path) = pb.finish() else { return };
            s.set_fill(fill.map(|c| Fill {
                paint: paint(c),
                opacity: NormalizedF32::ONE,
                rule: Default::default(),
            }));
            s.set_stroke(stroke.map(|(c, width)| Stroke {
                paint: paint(c),
                width,
                ..Stroke::default()
            }));
            s.draw_path(&path);
        }
        Op::Line {
            from,
            to,
            color,
            width,
        } => {
            let mut pb = PathBuilder::new();
            pb.move_to(from.0, from.1);
            pb.line_to(to.0, to.1);
            let Some(path) = pb.finish() else { return };
            s.set_fill(None);
            s.set_stroke(Some(Stroke {
                paint: paint(*color),
                width: *width,
                ..Stroke::default()
            }));
            s.draw_path(&path);
        }
        Op::Image { x, y, w, h, index } => {
            let (Some(image), Some(size)) = (images.get(*index), Size::from_wh(*w, *h)) else {
                return;
            };
            s.push_transform(&Transform::from_translate(*x, *y));
            s.draw_image(image.clone(), size);
            s.pop();
        }
    }
}

/// Draws the pages into a PDF.
pub fn render(pages: &[Vec<Op>], jpegs: Vec<Vec<u8>>) -> Result<Vec<u8>, PdfError> {
    let regular = Font::new(REGULAR.into(), 0).ok_or(PdfError::Font)?;
    let bold = Font::new(BOLD.into(), 0).ok_or(PdfError::Font)?;
    let fonts = (regular, bold);
    let images = jpegs
        .into_iter()
        .map(|j| Image::from_jpeg(j.into(), true).map_err(PdfError::Image))
        .collect::<Result<Vec<_>, _>>()?;
    let mut document = Document::new();
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or(PdfError::Layout)?;
    for ops in pages {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            draw_op(&mut surface, op, &fonts, &images);
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| PdfError::Write(format!("{e:?}")))
}
