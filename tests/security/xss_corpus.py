"""The XSS corpus: what attackers type into text fields and feed posts.

Every payload carries MARKER, so markup that came from a payload can be told apart from the
console's own. Written as Python strings so that the invisible characters stay visible here.
"""

MARKER = "xss-probe"

PAYLOADS = [
    # script tags, plain and in every context a value can land in
    "<script>alert('xss-probe')</script>",
    "\"><script>alert('xss-probe')</script>",
    "'><script>alert('xss-probe')</script>",
    "</textarea><script>alert('xss-probe')</script>",
    "</title><script>alert('xss-probe')</script>",
    "--><script>alert('xss-probe')</script><!--",
    "]]><script>alert('xss-probe')</script><![CDATA[",
    "</script><script>alert('xss-probe')</script>",
    "<<script>script>alert('xss-probe')<</script>/script>",
    # event handlers and attribute breakouts
    "<img src=x onerror=alert('xss-probe')>",
    "\" onmouseover=\"alert('xss-probe')\" x=\"",
    "' onfocus='alert(1)' autofocus x='xss-probe",
    "\" autofocus onfocus=alert('xss-probe') \"",
    "<body onload=alert('xss-probe')>",
    "<details open ontoggle=alert('xss-probe')>",
    "<svg onload=alert('xss-probe')>",
    "<svg><script>alert('xss-probe')</script></svg>",
    "<svg><a xlink:href=\"javascript:alert('xss-probe')\"><text>x</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('xss-probe')>",
    # javascript: and data: URLs (also as the whole value, for link fields)
    "javascript:alert('xss-probe')",
    "JaVaScRiPt:alert('xss-probe')",
    "\tjavascript:alert('xss-probe')",
    "data:text/html,<script>alert('xss-probe')</script>",
    "<a href=\"javascript:alert('xss-probe')\">xss-probe</a>",
    "<a href=\" &#14;javascript:alert('xss-probe')\">x</a>",
    "<iframe src=\"data:text/html,xss-probe\"></iframe>",
    "<form action=\"javascript:alert('xss-probe')\"><button>x</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('xss-probe')\">",
    "<base href=\"javascript:alert('xss-probe')//\">",
    "<object data=\"data:text/html,xss-probe\"></object>",
    # htmx attributes: markup that would act without any script of its own
    "<div hx-post=\"/logout\" hx-trigger=\"load\">xss-probe</div>",
    "<button hx-on:click=\"alert('xss-probe')\">x</button>",
    # template syntax: must stay text, never be evaluated
    "{{7*7}}xss-probe",
    "{{ config }}xss-probe",
    "{% print 7*7 %}xss-probe",
    "${7*7}xss-probe",
    "#{7*7}xss-probe",
    # unicode tricks and pre-escaped text (must not be unescaped into markup)
    "＜script＞alert('xss-probe')＜/script＞",
    "<scr\u200bipt>alert('xss-probe')</scr\u200bipt>",
    "\u202egnp.exe xss-probe",
    "\ufeff<script>alert('xss-probe')</script>",
    "'\u2028alert('xss-probe')//",
    "&lt;script&gt;alert('xss-probe')&lt;/script&gt;",
    "%3Cscript%3Ealert('xss-probe')%3C/script%3E",
    "\\u003cscript\\u003ealert('xss-probe')\\u003c/script\\u003e",
    # formulas for whoever opens a CSV export in Excel or WPS
    "=HYPERLINK(\"https://evil.example/?xss-probe\",\"点此查看\")",
    "@SUM(1+1)*cmd|' /C calc'!A0 xss-probe",
    # in the middle of a real Chinese complaint
    "鲜果多 曝光 <img src=x onerror=alert('xss-probe')> 12315 投诉",
]

# Evaluated template syntax would leave this next to the marker.
EVALUATED = "49xss-probe"
