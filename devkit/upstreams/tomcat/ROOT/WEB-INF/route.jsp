<%-- Answers which servlet mapping Tomcat chose, the path it routed on and the identity headers it received. --%><%@ page contentType="application/json; charset=UTF-8" session="false" trimDirectiveWhitespaces="true" %><%!
  // A JSON string literal (RFC 8259 §7): quote, backslash and controls escaped, the rest as is.
  static String q(String s) {
    if (s == null) return "null";
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }
  static final String[] HEADERS = { "x-user-id", "x-scopes", "x-ticks-charged" };
%><%
  String handler = getServletConfig().getInitParameter("handler");
  // the charged handler is POST only; any other method on /api/tasks is an ordinary API call
  if ("tasks".equals(handler) && !"POST".equals(request.getMethod())) handler = "other";
  String routed = request.getServletPath() + (request.getPathInfo() == null ? "" : request.getPathInfo());
  StringBuilder h = new StringBuilder("{");
  for (String name : HEADERS) {
    java.util.Enumeration<String> values = request.getHeaders(name);
    java.util.List<String> all = java.util.Collections.list(values);
    if (all.isEmpty()) continue;
    if (h.length() > 1) h.append(',');
    h.append(q(name)).append(':').append(q(String.join(", ", all)));
  }
  h.append('}');
  out.print("{\"server\":\"tomcat\",\"handler\":" + q(handler) + ",\"path\":" + q(routed)
      + ",\"target\":" + q(request.getRequestURI()) + ",\"headers\":" + h + "}");
%>
