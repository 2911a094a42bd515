def register(request):
    return {"register": getattr(request, "register", None)}
