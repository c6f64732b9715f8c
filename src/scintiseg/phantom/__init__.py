"""scintiseg.phantom"""
