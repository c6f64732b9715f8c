"""scintiseg.predict"""
