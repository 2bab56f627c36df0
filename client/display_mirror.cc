// Display's mirror of what the local terminal holds outside its cells:
// modes, mouse reporting, title and icon name, bells, the clipboard.
#include <algorithm>

#include "client/display.h"
#include "client/display_codes.h"

namespace roam::client {

using namespace codes;

namespace {
constexpr uint32_t max_bells_per_frame = 3;
}  // namespace

void Display::mirror(const Screen& frame, bool full, std::string& out) {
  const Modes& want = frame.modes();
  const auto flag = [&](bool on, bool& have, std::string_view set, std::string_view reset) {
    if (on == have && !(full && on)) return;
    out += on ? set : reset;
    have = on;
  };
  flag(want.app_cursor_keys, modes_.app_cursor_keys, "\x1b[?1h", "\x1b[?1l");
  flag(want.app_keypad, modes_.app_keypad, "\x1b=", "\x1b>");
  flag(want.bracketed_paste, modes_.bracketed_paste, "\x1b[?2004h", "\x1b[?2004l");
  flag(want.focus_events, modes_.focus_events, "\x1b[?1004h", "\x1b[?1004l");
  flag(want.reverse_video, modes_.reverse_video, "\x1b[?5h", "\x1b[?5l");
  // Mouse modes are separate DEC modes on the terminal: turn the old one off.
  if (want.mouse_tracking != modes_.mouse_tracking || (full && want.mouse_tracking != MouseTracking::none)) {
    if (modes_.mouse_tracking != MouseTracking::none && modes_.mouse_tracking != want.mouse_tracking)
      append_decset(mouse_mode(modes_.mouse_tracking), false, out);
    if (want.mouse_tracking != MouseTracking::none) append_decset(mouse_mode(want.mouse_tracking), true, out);
    modes_.mouse_tracking = want.mouse_tracking;
  }
  if (want.mouse_encoding != modes_.mouse_encoding || (full && want.mouse_encoding != MouseEncoding::x10)) {
    if (modes_.mouse_encoding != MouseEncoding::x10 && modes_.mouse_encoding != want.mouse_encoding)
      append_decset(mouse_mode(modes_.mouse_encoding), false, out);
    if (want.mouse_encoding != MouseEncoding::x10) append_decset(mouse_mode(want.mouse_encoding), true, out);
    modes_.mouse_encoding = want.mouse_encoding;
  }

  const bool title = frame.title() != title_ || (full && !frame.title().empty());
  const bool icon = frame.icon_name() != icon_name_ || (full && !frame.icon_name().empty());
  if (title && icon && frame.title() == frame.icon_name()) {
    append_osc(0, frame.title(), out);
  } else {
    if (title) append_osc(2, frame.title(), out);
    if (icon) append_osc(1, frame.icon_name(), out);
  }
  if (title) title_ = frame.title();
  if (icon) icon_name_ = frame.icon_name();

  const Clipboard& clip = frame.clipboard();
  if (!seen_frame_) {
    seen_frame_ = true;
  } else {
    // Unsigned difference: a count that went backwards is another Screen,
    // not billions of bells.
    const uint32_t rung = frame.bell_count() - bells_;
    if (rung < (1u << 31)) out.append(std::min(rung, max_bells_per_frame), '\a');
    if (clip.serial != clipboard_serial_) {
      // Screen::set_clipboard let only the base64 and selection alphabets in.
      out += "\x1b]52;";
      out += clip.selection;
      out += ';';
      out += clip.base64;
      out += '\a';
    }
  }
  bells_ = frame.bell_count();
  clipboard_serial_ = clip.serial;
}

}  // namespace roam::client
