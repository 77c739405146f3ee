// the widget (placeholder while the server side is built)
