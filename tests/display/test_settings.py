"""Board settings: legible colours (WCAG contrast from the configured colours), audio, buttons."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.display import MIN_CONTRAST, Colours, DisplaySettings, contrast_ratio
from config.loader import ConfigError, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "display.toml"


def test_contrast_ratio_matches_the_wcag_reference_values() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    # WCAG's own example: #767676 on white is the lightest grey that passes AA.
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#777777", "#ffffff") < MIN_CONTRAST


def test_every_text_colour_of_the_default_and_example_boards_is_legible() -> None:
    example = load_settings(DisplaySettings, EXAMPLE)
    for colours in (Colours(), example.colours):
        for name, (fg, bg) in colours.text_pairs().items():
            assert contrast_ratio(fg, bg) >= MIN_CONTRAST, name


def test_a_low_contrast_palette_is_refused_naming_the_file_the_field_and_the_pair(
    tmp_path: Path,
) -> None:
    cfg = tmp_path / "board.toml"
    cfg.write_text(
        'role = "display"\nsite = "mairie"\ndevice_id = "board"\n'
        '[colours]\nbackground = "#0b1f3a"\nmuted = "#3a5a80"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_settings(DisplaySettings, cfg)
    (line,) = err.value.problems
    assert str(cfg) in line
    assert "'colours'" in line
    assert "muted on background" in line
    assert "text on background" not in line


def test_a_colour_not_written_rrggbb_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "board.toml"
    cfg.write_text('site = "mairie"\ndevice_id = "board"\n[colours]\naccent = "yellow"\n')
    with pytest.raises(ConfigError, match=r"colours\.accent.*#rrggbb"):
        load_settings(DisplaySettings, cfg)


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ('[audio]\nquiet_hours = ["12:00-1400"]', "audio.quiet_hours"),
        ('[audio]\ntemplates = { fr = "Ticket {numero}" }', "unknown placeholder"),
        ("[audio]\nvolume = 150", "audio.volume"),
        ('[buttons]\nports = "/dev/ttyUSB0"', "buttons.ports"),
    ],
)
def test_bad_audio_and_button_settings_name_the_field(
    tmp_path: Path, table: str, needle: str
) -> None:
    cfg = tmp_path / "board.toml"
    cfg.write_text(f'site = "mairie"\ndevice_id = "board"\n{table}\n')
    with pytest.raises(ConfigError, match=needle):
        load_settings(DisplaySettings, cfg)
